-- psycache_put and psycache_get: hits, misses, expiry, overwrites.
CREATE EXTENSION IF NOT EXISTS psycache;
\pset null '(null)'

-- put returns the stored size; get returns the value and the same size
SELECT psycache_put('user:1', '{"name": "Ada", "tags": [1, 2]}', interval '1 hour');
SELECT * FROM psycache_get('user:1');
-- a key never stored is one row of NULLs
SELECT * FROM psycache_get('user:2');
-- a JSON null is a value, not a miss
SELECT psycache_put('json-null', 'null', interval '1 hour');
SELECT value, value IS NULL AS is_sql_null, size FROM psycache_get('json-null');
-- scalars and arrays are values too
SELECT psycache_put('scalar', '42', interval '1 hour'), psycache_put('array', '[1, "a"]', interval '1 hour');
SELECT * FROM psycache_get('scalar');
SELECT * FROM psycache_get('array');
-- the empty key is a key like any other
SELECT psycache_put('', '"empty key"', interval '1 hour');
SELECT * FROM psycache_get('');
-- keys are compared exactly
SELECT * FROM psycache_get('USER:1');
SELECT * FROM psycache_get('user:1 ');

-- the expiry is statement_timestamp() + ttl, computed by the server
SELECT psycache_put('exact', '1', interval '90 minutes') AS size,
       (statement_timestamp() + interval '90 minutes')::text AS expected \gset
SELECT expires_at::text = :'expected' AS expiry_is_exact FROM psycache WHERE key = 'exact';

-- an overwrite replaces the value and extends the expiry
SELECT psycache_put('user:1', '{"name": "Grace"}', interval '1 minute');
SELECT expires_at <= statement_timestamp() + interval '1 minute' AS expires_within_a_minute
FROM psycache WHERE key = 'user:1';
SELECT psycache_put('user:1', '{"name": "Grace", "v": 2}', interval '30 days');
SELECT * FROM psycache_get('user:1');
SELECT expires_at > statement_timestamp() + interval '29 days' AS expiry_extended
FROM psycache WHERE key = 'user:1';
SELECT count(*) AS rows_for_key FROM psycache WHERE key = 'user:1';

-- a zero or negative ttl stores an entry that has already expired
SELECT psycache_put('zero', '"z"', interval '0');
SELECT psycache_put('negative', '"n"', interval '-5 minutes');
SELECT * FROM psycache_get('zero');
SELECT * FROM psycache_get('negative');
SELECT key, value FROM psycache WHERE key IN ('zero', 'negative') ORDER BY key;
-- a put on an expired entry brings it back
SELECT psycache_put('negative', '"back"', interval '1 hour');
SELECT * FROM psycache_get('negative');

DROP EXTENSION psycache;
