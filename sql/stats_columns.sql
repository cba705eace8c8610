-- psycache_stats: the table's counts and size, then the background worker's last pass here.
CREATE EXTENSION IF NOT EXISTS psycache;
\pset null '(null)'

SELECT psycache_put('live', '1', interval '1 hour'), psycache_put('expired', '2', interval '-1 hour');
SELECT entries, expired_entries, total_bytes > 0 AS has_size FROM psycache_stats();
-- the worker has not run in this database (it is not in psycache.cleanup_databases)
SELECT worker_last_run, worker_last_deleted, worker_last_duration, worker_last_error
FROM psycache_stats();
-- the column order: entries, expired_entries, total_bytes first (clients read them by position)
SELECT * FROM psycache_stats() WHERE false;

DROP EXTENSION psycache;
