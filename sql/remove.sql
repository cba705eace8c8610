-- psycache_remove: true when a live entry was removed.
CREATE EXTENSION IF NOT EXISTS psycache;

SELECT psycache_put('a', '1', interval '1 hour'), psycache_put('b', '2', interval '1 hour');
SELECT psycache_remove('a');
SELECT * FROM psycache_get('a');
-- removing again, or removing a key never stored, removes nothing
SELECT psycache_remove('a');
SELECT psycache_remove('never stored');
-- other entries are untouched
SELECT * FROM psycache_get('b');
-- an expired entry is a miss: removing it returns false, but its row is deleted
SELECT psycache_put('expired', '3', interval '-1 second');
SELECT psycache_remove('expired');
SELECT count(*) AS rows_left FROM psycache WHERE key = 'expired';
-- the empty key can be removed
SELECT psycache_put('', '4', interval '1 hour');
SELECT psycache_remove('');
SELECT key FROM psycache ORDER BY key;

DROP EXTENSION psycache;
