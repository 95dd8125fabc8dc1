-- pgvector powers similarity search. It must be installed on the server;
-- creating it needs a superuser (or a trusted extension).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    RAISE EXCEPTION 'pgvector is not installed on this PostgreSQL server'
      USING ERRCODE = 'feature_not_supported',
            HINT = 'install pgvector (on Debian: build it as scripts/setup.sh does, or apt-get install postgresql-15-pgvector where packaged), then run `replydesk --migrate` again';
  END IF;
END
$$;

CREATE EXTENSION IF NOT EXISTS vector;
