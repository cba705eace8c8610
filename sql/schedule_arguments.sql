-- psycache_schedule_cleanup refuses a bad schedule before it reaches pg_cron.
CREATE EXTENSION IF NOT EXISTS psycache;
SELECT psycache_schedule_cleanup(NULL);
SELECT psycache_schedule_cleanup(repeat('*', 256));
DROP EXTENSION psycache;
