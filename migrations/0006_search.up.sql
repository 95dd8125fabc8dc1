-- Search operators (`from:`, `to:`, `date:`, `subject:`; see src/query.rs).
--
-- Addresses are matched lowercased: `from:` by equality or prefix on one
-- index (text_pattern_ops serves both `=` and `LIKE 'dana%'` whatever the
-- database's collation), `to:` by array overlap on a GIN index of the
-- lowercased recipients, `date:` by a range of sent_at.

CREATE FUNCTION replydesk_lower_addrs(addrs text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT coalesce(array_agg(lower(a)), '{}') FROM unnest(addrs) a
$$;

-- `subject:WORDS`: the words as a phrase, each restricted to weight A
-- (messages.search weighs the subject A and the body B).
CREATE FUNCTION replydesk_subject_tsquery(words text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT CASE WHEN q::text = '' THEN q
              ELSE regexp_replace(q::text, '(''(?:[^'']|'''')*'')', '\1:A', 'g')::tsquery END
  FROM phraseto_tsquery('english', words) q
$$;

CREATE INDEX messages_from_idx ON messages (lower(from_addr) text_pattern_ops);
CREATE INDEX messages_from_domain_idx ON messages (split_part(lower(from_addr), '@', 2));
CREATE INDEX messages_to_idx ON messages USING gin (replydesk_lower_addrs(to_addrs));
CREATE INDEX messages_sent_at_idx ON messages (sent_at);
