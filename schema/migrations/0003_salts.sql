-- The daily visitor salts shared by the collector nodes of an installation
-- (shared mode, ANALYTICS_SALT_KEY set; see collector/visitor). Each row holds
-- one day's 16-byte salt sealed with AES-256-GCM under a key derived from
-- ANALYTICS_SALT_KEY, with the day as additional data: the table alone, or a
-- dump of it, reveals no salt.
--
-- One partition per day, so that a past day's salt is destroyed with
-- ALTER TABLE salts DROP PARTITION <yyyymmdd> once its day and the grace
-- period are over: the table never holds more than today's and, for a few
-- minutes after midnight, yesterday's salt.
--
-- sealed is part of the sorting key on purpose: if two nodes race to create
-- the first salt, both candidates must survive merges so that every node
-- keeps choosing the same one (the smallest sealed value). Identical rows
-- fold.
CREATE TABLE IF NOT EXISTS salts (
    day     Date,
    sealed  String,
    created DateTime('UTC')
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (day, sealed)
