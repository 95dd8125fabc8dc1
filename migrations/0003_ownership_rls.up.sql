-- Ownership and row-level security (opt-in).
--
-- This migration creates the database roles and the policies, but switches
-- nothing on: `replydesk rls enable` turns row-level security on (ENABLE +
-- FORCE) per database, `replydesk rls disable` turns it off again.
--
-- Identity is the database user (`current_user`), not a setting: each rep
-- logs in as their own role, linked to their `reps` row by `reps.db_role`.
-- The TUI connects straight to PostgreSQL with credentials the rep holds,
-- so anything the app could SET the rep could SET too; `current_user` is
-- what the server authenticated (or a role a trusted pooler SET ROLE to).
--
-- Group roles (NOLOGIN; each person's login role is a member of one):
--   replydesk_rep        reads and decides its own and unassigned conversations
--   replydesk_manager    reads and decides everything
--   replydesk_admin      everything, including imports, the worker and erase
--   replydesk_analytics  reads everything, changes nothing
-- Roles belong to the cluster, not to this database: they are created if
-- missing (safe when other databases run this at the same moment) and the
-- down migration leaves them, since other databases may use them.

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['replydesk_rep', 'replydesk_manager', 'replydesk_admin', 'replydesk_analytics'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION
        -- Another database's migration created it first.
        WHEN duplicate_object OR unique_violation THEN NULL;
        WHEN insufficient_privilege THEN
          RAISE EXCEPTION 'cannot create the database role %: the migrating user lacks CREATEROLE', r
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'ask your DBA to run CREATE ROLE replydesk_rep NOLOGIN (and replydesk_manager, replydesk_admin, replydesk_analytics), then run `replydesk --migrate` again';
      END;
    END IF;
  END LOOP;
END
$$;

-- Scope "mine" lists a rep's own conversations and the unassigned ones as
-- two index range scans merged in order. `owner_rep_id IS NULL` cannot
-- order a scan of the owner indexes (it is not an equality), so the
-- unassigned get their own small partial indexes.
CREATE INDEX conversations_unassigned_inbox_idx
  ON conversations (status, last_message_at DESC, id DESC)
  WHERE deleted_at IS NULL AND owner_rep_id IS NULL;
CREATE INDEX conversations_unassigned_recent_idx
  ON conversations (last_message_at DESC, id DESC)
  WHERE deleted_at IS NULL AND owner_rep_id IS NULL;

-- Which database role is which rep.
ALTER TABLE reps ADD COLUMN db_role text;
ALTER TABLE reps ADD CONSTRAINT reps_db_role_key UNIQUE (db_role);

-- The rep the current database user is, or NULL. Not SECURITY DEFINER (so
-- current_user is the caller); search_path pinned so a temporary table
-- named reps cannot stand in for the real one.
CREATE FUNCTION replydesk_current_rep_id() RETURNS bigint
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $$ SELECT id FROM reps WHERE db_role = current_user $$;

-- Who owns a conversation, for the "already claimed by …" message of a rep
-- who lost a claim and can no longer see the row. Reveals a name, nothing else.
CREATE FUNCTION replydesk_conversation_owner(conversation bigint) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT r.display_name || ' <' || r.email || '>'
  FROM conversations c JOIN reps r ON r.id = c.owner_rep_id
  WHERE c.id = conversation AND c.deleted_at IS NULL
$$;
REVOKE ALL ON FUNCTION replydesk_conversation_owner(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION replydesk_conversation_owner(bigint)
  TO replydesk_rep, replydesk_manager, replydesk_admin;

-- Privileges. Reps and managers work the inbox; they do not import, seed or
-- erase (admin). Analytics reads.
GRANT SELECT ON schema_migrations, reps, embedding_models
  TO replydesk_rep, replydesk_manager, replydesk_analytics;
GRANT SELECT, UPDATE ON leads, conversations TO replydesk_rep, replydesk_manager;
GRANT SELECT, INSERT, UPDATE, DELETE ON messages TO replydesk_rep, replydesk_manager;
GRANT SELECT, INSERT, UPDATE ON suggestions, outbox TO replydesk_rep, replydesk_manager;
GRANT SELECT ON message_embeddings TO replydesk_rep, replydesk_manager;
GRANT SELECT, INSERT ON events TO replydesk_rep, replydesk_manager;
GRANT SELECT ON ai_runs TO replydesk_manager;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO replydesk_analytics;
GRANT ALL ON ALL TABLES IN SCHEMA public TO replydesk_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public
  TO replydesk_rep, replydesk_manager, replydesk_admin;

-- Policies. A rep sees a conversation that is theirs or nobody's, and
-- everything hanging off a conversation it can see (the subqueries on
-- conversations are themselves filtered by its policy). `(SELECT …)` makes
-- the rep lookup one InitPlan per query, not a call per row.

CREATE POLICY conversations_rep ON conversations TO replydesk_rep
  USING (owner_rep_id IS NULL OR owner_rep_id = (SELECT replydesk_current_rep_id()))
  WITH CHECK (owner_rep_id IS NULL OR owner_rep_id = (SELECT replydesk_current_rep_id()));
CREATE POLICY conversations_all ON conversations TO replydesk_manager, replydesk_admin
  USING (true) WITH CHECK (true);
CREATE POLICY conversations_read ON conversations FOR SELECT TO replydesk_analytics
  USING (true);

CREATE POLICY leads_rep ON leads TO replydesk_rep
  USING (owner_rep_id IS NULL OR owner_rep_id = (SELECT replydesk_current_rep_id())
         OR EXISTS (SELECT 1 FROM conversations c WHERE c.lead_id = leads.id))
  WITH CHECK (owner_rep_id IS NULL OR owner_rep_id = (SELECT replydesk_current_rep_id()));
CREATE POLICY leads_all ON leads TO replydesk_manager, replydesk_admin
  USING (true) WITH CHECK (true);
CREATE POLICY leads_read ON leads FOR SELECT TO replydesk_analytics USING (true);

CREATE POLICY messages_rep ON messages TO replydesk_rep
  USING (EXISTS (SELECT 1 FROM conversations c WHERE c.id = messages.conversation_id))
  WITH CHECK (EXISTS (SELECT 1 FROM conversations c WHERE c.id = messages.conversation_id));
CREATE POLICY messages_all ON messages TO replydesk_manager, replydesk_admin
  USING (true) WITH CHECK (true);
CREATE POLICY messages_read ON messages FOR SELECT TO replydesk_analytics USING (true);

CREATE POLICY suggestions_rep ON suggestions TO replydesk_rep
  USING (EXISTS (SELECT 1 FROM conversations c WHERE c.id = suggestions.conversation_id))
  WITH CHECK (EXISTS (SELECT 1 FROM conversations c WHERE c.id = suggestions.conversation_id));
CREATE POLICY suggestions_all ON suggestions TO replydesk_manager, replydesk_admin
  USING (true) WITH CHECK (true);
CREATE POLICY suggestions_read ON suggestions FOR SELECT TO replydesk_analytics USING (true);

CREATE POLICY outbox_rep ON outbox TO replydesk_rep
  USING (EXISTS (SELECT 1 FROM conversations c WHERE c.id = outbox.conversation_id))
  WITH CHECK (EXISTS (SELECT 1 FROM conversations c WHERE c.id = outbox.conversation_id));
CREATE POLICY outbox_all ON outbox TO replydesk_manager, replydesk_admin
  USING (true) WITH CHECK (true);
CREATE POLICY outbox_read ON outbox FOR SELECT TO replydesk_analytics USING (true);

CREATE POLICY message_embeddings_rep ON message_embeddings FOR SELECT TO replydesk_rep
  USING (EXISTS (SELECT 1 FROM messages m WHERE m.id = message_embeddings.message_id));
CREATE POLICY message_embeddings_all ON message_embeddings TO replydesk_manager, replydesk_admin
  USING (true) WITH CHECK (true);
CREATE POLICY message_embeddings_read ON message_embeddings FOR SELECT TO replydesk_analytics
  USING (true);

-- The audit trail: a rep reads what happened to conversations it can see
-- and its own actions, and records only as itself.
CREATE POLICY events_rep_read ON events FOR SELECT TO replydesk_rep
  USING (rep_id = (SELECT replydesk_current_rep_id())
         OR EXISTS (SELECT 1 FROM conversations c WHERE c.id = events.conversation_id));
CREATE POLICY events_rep_insert ON events FOR INSERT TO replydesk_rep
  WITH CHECK (rep_id = (SELECT replydesk_current_rep_id()));
CREATE POLICY events_all ON events TO replydesk_manager, replydesk_admin
  USING (true) WITH CHECK (true);
CREATE POLICY events_read ON events FOR SELECT TO replydesk_analytics USING (true);
