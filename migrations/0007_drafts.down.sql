DROP POLICY IF EXISTS message_intents_read ON message_intents;
DROP POLICY IF EXISTS message_intents_all ON message_intents;
DROP POLICY IF EXISTS message_intents_rep ON message_intents;
ALTER TABLE reps DROP COLUMN IF EXISTS signoff;
ALTER TABLE suggestions DROP COLUMN IF EXISTS hold;
DROP TABLE IF EXISTS message_intents;
DROP INDEX IF EXISTS conversations_listing_idx;
ALTER TABLE conversations DROP COLUMN IF EXISTS listing_id;
DROP TABLE IF EXISTS listings;
