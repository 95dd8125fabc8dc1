-- Bulk import (`replydesk import`): threading lookups and a full-text column
-- that a bulk load can fill on both cores.
--
-- 1. messages.search stops being a generated column. Generated columns are
--    always computed by the inserting backend, so one INSERT … SELECT of a
--    million rows computes a million tsvectors on one core (~120 µs each).
--    The importer computes them in its staging table during parallel COPY
--    streams (one per core) with the same function and copies them over;
--    every other writer leaves the column NULL and the trigger fills it.
--    DROP EXPRESSION changes the catalog only (no rewrite), and the stored
--    values and the GIN index stay as they are.

CREATE FUNCTION replydesk_message_search(subject text, body_text text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  -- Bounded input: to_tsvector fails on texts whose vector passes 1 MB.
  SELECT setweight(to_tsvector('english'::regconfig, left(subject, 1000)), 'A') ||
         setweight(to_tsvector('english'::regconfig, left(body_text, 100000)), 'B')
$$;

CREATE FUNCTION replydesk_messages_fill_search() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.search := replydesk_message_search(NEW.subject, NEW.body_text);
  RETURN NEW;
END
$$;

ALTER TABLE messages ALTER COLUMN search DROP EXPRESSION;

-- A row that arrives with its vector (the importer's) keeps it; the WHEN
-- clause is evaluated without calling the function, so those rows cost
-- nothing here.
CREATE TRIGGER messages_search_insert BEFORE INSERT ON messages
  FOR EACH ROW WHEN (NEW.search IS NULL)
  EXECUTE FUNCTION replydesk_messages_fill_search();
CREATE TRIGGER messages_search_update BEFORE UPDATE OF subject, body_text ON messages
  FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject
                     OR OLD.body_text IS DISTINCT FROM NEW.body_text)
  EXECUTE FUNCTION replydesk_messages_fill_search();

-- 2. Threading by In-Reply-To/References finds a message by its Message-ID.
--    For mail and for replies replydesk sends, external_id already is the
--    Message-ID; message_id holds it only where it differs (JSONL records
--    that carry both), so existing rows need no backfill and the lookup key
--    is coalesce(message_id, external_id).
ALTER TABLE messages ADD COLUMN message_id text;
CREATE INDEX messages_message_id_idx ON messages ((coalesce(message_id, external_id)));

-- 3. JSONL conversation keys: records with the same key share one
--    conversation, across imports. The value is `source:key` (the source
--    with `%` and `:` percent-encoded), so two systems' keys never meet.
ALTER TABLE conversations ADD COLUMN external_key text;
CREATE UNIQUE INDEX conversations_external_key_idx
  ON conversations (external_key) WHERE external_key IS NOT NULL;
