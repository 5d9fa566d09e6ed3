-- The record of applied migrations. Every migration is written to be
-- idempotent (IF NOT EXISTS), so two processes applying the same one at once
-- are harmless; ReplacingMergeTree folds their duplicate records.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    applied_at DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY version
