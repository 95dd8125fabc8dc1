-- Row-level security off and policies gone, so no table is left deny-all.
-- The roles stay: they belong to the cluster and other databases may use
-- them (drop them by hand with DROP ROLE once no database needs them).
ALTER TABLE IF EXISTS events NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
ALTER TABLE IF EXISTS message_embeddings NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
ALTER TABLE IF EXISTS outbox NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
ALTER TABLE IF EXISTS suggestions NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
ALTER TABLE IF EXISTS messages NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
ALTER TABLE IF EXISTS conversations NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
ALTER TABLE IF EXISTS leads NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS events_read ON events;
DROP POLICY IF EXISTS events_all ON events;
DROP POLICY IF EXISTS events_rep_insert ON events;
DROP POLICY IF EXISTS events_rep_read ON events;
DROP POLICY IF EXISTS message_embeddings_read ON message_embeddings;
DROP POLICY IF EXISTS message_embeddings_all ON message_embeddings;
DROP POLICY IF EXISTS message_embeddings_rep ON message_embeddings;
DROP POLICY IF EXISTS outbox_read ON outbox;
DROP POLICY IF EXISTS outbox_all ON outbox;
DROP POLICY IF EXISTS outbox_rep ON outbox;
DROP POLICY IF EXISTS suggestions_read ON suggestions;
DROP POLICY IF EXISTS suggestions_all ON suggestions;
DROP POLICY IF EXISTS suggestions_rep ON suggestions;
DROP POLICY IF EXISTS messages_read ON messages;
DROP POLICY IF EXISTS messages_all ON messages;
DROP POLICY IF EXISTS messages_rep ON messages;
DROP POLICY IF EXISTS leads_read ON leads;
DROP POLICY IF EXISTS leads_all ON leads;
DROP POLICY IF EXISTS leads_rep ON leads;
DROP POLICY IF EXISTS conversations_read ON conversations;
DROP POLICY IF EXISTS conversations_all ON conversations;
DROP POLICY IF EXISTS conversations_rep ON conversations;

REVOKE ALL ON ALL TABLES IN SCHEMA public
  FROM replydesk_rep, replydesk_manager, replydesk_admin, replydesk_analytics;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public
  FROM replydesk_rep, replydesk_manager, replydesk_admin, replydesk_analytics;

DROP INDEX IF EXISTS conversations_unassigned_recent_idx;
DROP INDEX IF EXISTS conversations_unassigned_inbox_idx;
DROP FUNCTION IF EXISTS replydesk_conversation_owner(bigint);
DROP FUNCTION IF EXISTS replydesk_current_rep_id();
ALTER TABLE reps DROP COLUMN IF EXISTS db_role;
