DROP INDEX IF EXISTS messages_sent_at_idx;
DROP INDEX IF EXISTS messages_to_idx;
DROP INDEX IF EXISTS messages_from_domain_idx;
DROP INDEX IF EXISTS messages_from_idx;
DROP FUNCTION IF EXISTS replydesk_subject_tsquery(text);
DROP FUNCTION IF EXISTS replydesk_lower_addrs(text[]);
