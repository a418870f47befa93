-- The dashboard's findings trend: each daily snapshot also counts the
-- unresolved findings and those of them that are critical or high (-1: the
-- posture capability was not running that day).
ALTER TABLE web_daily_stats ADD COLUMN open_findings BIGINT NOT NULL DEFAULT -1;
ALTER TABLE web_daily_stats ADD COLUMN severe_findings BIGINT NOT NULL DEFAULT -1;
