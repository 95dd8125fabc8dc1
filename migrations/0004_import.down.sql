-- Back to 0003: no conversation keys, no Message-ID column, and search a
-- generated column again. PostgreSQL 15 cannot turn a plain column back
-- into a generated one, so the column is dropped and added again: that
-- rewrites the table and recomputes every vector (about 2 minutes per
-- million messages on one core) and rebuilds the GIN index, under an
-- exclusive lock on messages.

DROP INDEX IF EXISTS conversations_external_key_idx;
ALTER TABLE conversations DROP COLUMN IF EXISTS external_key;

DROP INDEX IF EXISTS messages_message_id_idx;
ALTER TABLE messages DROP COLUMN IF EXISTS message_id;

DROP TRIGGER IF EXISTS messages_search_update ON messages;
DROP TRIGGER IF EXISTS messages_search_insert ON messages;
DROP FUNCTION IF EXISTS replydesk_messages_fill_search();

ALTER TABLE messages DROP COLUMN search;
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('english'::regconfig, left(subject, 1000)), 'A') ||
  setweight(to_tsvector('english'::regconfig, left(body_text, 100000)), 'B')
) STORED;
CREATE INDEX messages_search_idx ON messages USING gin (search);

DROP FUNCTION IF EXISTS replydesk_message_search(text, text);
