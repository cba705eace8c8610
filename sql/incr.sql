-- psycache_incr: an atomic counter in a JSON integer.
CREATE EXTENSION IF NOT EXISTS psycache;
\pset null '(null)'

-- a missing key starts at delta
SELECT psycache_incr('hits', 1, interval '1 hour');
SELECT psycache_incr('hits', 1, interval '1 hour');
SELECT psycache_incr('hits', 40, interval '1 hour');
SELECT * FROM psycache_get('hits');
-- negative deltas count down, through zero
SELECT psycache_incr('hits', -50, interval '1 hour');
SELECT psycache_incr('down', -3, interval '1 hour');
-- a delta of 0 reads the counter (and creates it at 0)
SELECT psycache_incr('hits', 0, interval '1 hour');
SELECT psycache_incr('zero', 0, interval '1 hour');
-- the first incr sets the expiry; later ones keep it, whatever their ttl (as Redis INCR)
SELECT psycache_incr('kept', 1, interval '1 hour') AS v, statement_timestamp()::text AS t0 \gset
SELECT psycache_incr('kept', 1, interval '5 days');
SELECT expires_at::text = (:'t0'::timestamptz + interval '1 hour')::text AS expiry_kept
FROM psycache WHERE key = 'kept';
-- an expired counter starts again at delta, with the new ttl
SELECT psycache_put('old', '41', interval '-1 second');
SELECT psycache_incr('old', 1, interval '1 hour'),
       (statement_timestamp() + interval '1 hour')::text AS expected \gset
SELECT :psycache_incr AS counter, expires_at::text = :'expected' AS new_expiry
FROM psycache WHERE key = 'old';
-- an integer stored by put counts as well
SELECT psycache_put('put', '100', interval '1 hour');
SELECT psycache_incr('put', 1, interval '1 hour');
-- up to the limits of bigint
SELECT psycache_put('max', '9223372036854775806', interval '1 hour');
SELECT psycache_incr('max', 1, interval '1 hour');
SELECT psycache_incr('min', -9223372036854775808, interval '1 hour');

-- past them: 22003, and the counter keeps its value
SELECT psycache_incr('max', 1, interval '1 hour');
SELECT psycache_incr('min', -1, interval '1 hour');
SELECT * FROM psycache_get('max');
-- a value that is not a JSON integer: 22023 naming the key, and the value is kept
SELECT psycache_put('text', '"7"', interval '1 hour');
SELECT psycache_incr('text', 1, interval '1 hour');
SELECT psycache_put('fraction', '1.5', interval '1 hour');
SELECT psycache_incr('fraction', 1, interval '1 hour');
SELECT psycache_put('point-zero', '2.0', interval '1 hour');
SELECT psycache_incr('point-zero', 1, interval '1 hour');
SELECT psycache_put('object', '{"n": 1}', interval '1 hour');
SELECT psycache_incr('object', 1, interval '1 hour');
SELECT psycache_put('json-null', 'null', interval '1 hour');
SELECT psycache_incr('json-null', 1, interval '1 hour');
SELECT psycache_put(repeat('é', 100), 'true', interval '1 hour');
SELECT psycache_incr(repeat('é', 100), 1, interval '1 hour');
SELECT key, value FROM psycache WHERE key IN ('text', 'fraction', 'point-zero', 'object', 'json-null')
ORDER BY key;
-- an expired value of any kind is replaced
SELECT psycache_put('text', '"7"', interval '-1 second');
SELECT psycache_incr('text', 5, interval '1 hour');

-- bad arguments: NULLs (22004), long keys (54000), ttls out of range (22008)
SELECT psycache_incr(NULL, 1, interval '1 hour');
SELECT psycache_incr('hits', NULL, interval '1 hour');
SELECT psycache_incr('hits', 1, NULL);
SELECT psycache_incr(repeat('k', 2049), 1, interval '1 hour');
SELECT psycache_incr('hits', 1, interval '300000 years');
SELECT * FROM psycache_get('hits');

-- an incr in a transaction that rolls back leaves no trace
BEGIN;
SELECT psycache_incr('hits', 1000, interval '1 hour');
ROLLBACK;
SELECT * FROM psycache_get('hits');

DROP EXTENSION psycache;
