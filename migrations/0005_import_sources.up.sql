-- Incremental imports: what `replydesk import PATH` read from each source,
-- so importing it again reads only what is new, and the team addresses an
-- import found in the mail itself.
--
-- A source is a path (canonical, absolute) read as one format with one
-- `--source`. For an mbox or JSONL file the row says how far it was read:
-- `read_offset` is the end of the last whole record (the next one starts
-- there), `size` how many bytes were read in all, `mtime_ns` the file's
-- modification time when reading began, and two SHA-256 fingerprints, of
-- the file's first 64 KiB up to `read_offset` and of the 64 KiB before
-- `read_offset`: a file whose fingerprints still match has only grown, so
-- the next import reads from `read_offset` on. A Maildir keeps one row per
-- message file read (by its unique name, the part before `:2,`, so a flag
-- change or a move from new/ to cur/ is not new mail) and the mtime of each
-- cur/ and new/ folder it listed (NULL when it changed too recently to
-- trust), so an unchanged folder is not even listed.
--
-- Rows are written only after an import committed the mail they cover.

CREATE TABLE import_sources (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  path        text NOT NULL,
  format      text NOT NULL CHECK (format IN ('jsonl', 'mbox', 'maildir')),
  source      text NOT NULL DEFAULT '',
  size        bigint CHECK (size >= 0),
  mtime_ns    bigint,
  read_offset bigint CHECK (read_offset >= 0 AND read_offset <= size),
  read_lines  bigint CHECK (read_lines >= 0),
  head_sha256 bytea,
  tail_sha256 bytea,
  imported_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (path, format, source)
);

CREATE TABLE import_source_dirs (
  source_id bigint NOT NULL REFERENCES import_sources (id) ON DELETE CASCADE,
  dir       text NOT NULL,
  mtime_ns  bigint,
  PRIMARY KEY (source_id, dir)
);

CREATE TABLE import_source_files (
  source_id bigint NOT NULL REFERENCES import_sources (id) ON DELETE CASCADE,
  name      text NOT NULL,
  size      bigint NOT NULL,
  mtime_ns  bigint NOT NULL,
  PRIMARY KEY (source_id, name)
);

-- Senders an import found writing to many correspondents without being
-- reps (a whole domain is written `@domain`): later imports treat their mail
-- as the team's too, unless run with --no-detect-team. Registering them as
-- reps (`replydesk rep add`) makes it explicit; deleting a row forgets it.
CREATE TABLE import_team_addresses (
  address     text PRIMARY KEY CHECK (address = lower(address) AND address LIKE '%@%'),
  source_id   bigint REFERENCES import_sources (id) ON DELETE SET NULL,
  detected_at timestamptz NOT NULL DEFAULT now()
);

GRANT ALL ON import_sources, import_source_dirs, import_source_files, import_team_addresses
  TO replydesk_admin;
GRANT SELECT ON import_sources, import_source_dirs, import_source_files, import_team_addresses
  TO replydesk_analytics;
GRANT USAGE ON SEQUENCE import_sources_id_seq TO replydesk_admin;
