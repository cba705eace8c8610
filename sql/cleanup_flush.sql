-- psycache_cleanup, psycache_flush and psycache_stats.
CREATE EXTENSION IF NOT EXISTS psycache;

-- an empty cache
SELECT psycache_cleanup(), psycache_flush();
SELECT entries, expired_entries FROM psycache_stats();

-- three live entries and two expired ones
SELECT psycache_put('live:' || i, pg_catalog.to_jsonb(i), interval '1 hour') FROM generate_series(1, 3) AS i;
SELECT psycache_put('expired:' || i, pg_catalog.to_jsonb(i), interval '-1 hour') FROM generate_series(1, 2) AS i;
SELECT entries, expired_entries, total_bytes > 0 AS has_size FROM psycache_stats();

-- cleanup deletes only the expired entries and counts them
SELECT psycache_cleanup();
SELECT key FROM psycache ORDER BY key;
SELECT psycache_cleanup();
SELECT entries, expired_entries FROM psycache_stats();

-- flush deletes every entry, live or expired, and counts them
SELECT psycache_put('expired:3', '3', interval '0');
SELECT psycache_flush();
SELECT entries, expired_entries FROM psycache_stats();
SELECT * FROM psycache_get('live:1');
SELECT psycache_flush();

DROP EXTENSION psycache;
