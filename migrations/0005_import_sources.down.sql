-- Back to 0004: imports forget what they read; the next import of a source
-- reads all of it again (and finds what is stored as duplicates).
DROP TABLE IF EXISTS import_team_addresses;
DROP TABLE IF EXISTS import_source_files;
DROP TABLE IF EXISTS import_source_dirs;
DROP TABLE IF EXISTS import_sources;
