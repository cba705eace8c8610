-- psycache_get_many, psycache_put_many, psycache_remove_many: a batch of keys in one call.
CREATE EXTENSION IF NOT EXISTS psycache;
\pset null '(null)'

-- put_many returns the stored size of each value, in the order of the keys
SELECT psycache_put_many(ARRAY['a', 'b', 'c'], ARRAY['{"n": 1}', '"two"', '3']::jsonb[],
                         interval '1 hour');
-- the same sizes as psycache_put reports
SELECT psycache_put('single', '{"n": 1}', interval '1 hour');
-- get_many: one row per key, in the order given; a miss has a NULL value and size
SELECT * FROM psycache_get_many(ARRAY['c', 'missing', 'a', 'b']);
-- a key given twice gives two rows
SELECT * FROM psycache_get_many(ARRAY['a', 'a']);
-- an empty batch: no rows, nothing stored, nothing removed
SELECT * FROM psycache_get_many('{}');
SELECT psycache_put_many('{}', '{}', interval '1 hour');
SELECT psycache_remove_many('{}');
-- the expiry is statement_timestamp() + ttl for every key
SELECT psycache_put_many(ARRAY['x', 'y'], ARRAY['1', '2']::jsonb[], interval '90 minutes'),
       (statement_timestamp() + interval '90 minutes')::text AS expected \gset
SELECT key, expires_at::text = :'expected' AS expiry_is_exact FROM psycache
WHERE key IN ('x', 'y') ORDER BY key;
-- put_many overwrites like put: value and expiry
SELECT psycache_put_many(ARRAY['a', 'new'], ARRAY['"A"', '"N"']::jsonb[], interval '2 hours');
SELECT * FROM psycache_get_many(ARRAY['a', 'new']);
-- a key given twice is stored once, with its last value; both positions report its size
SELECT psycache_put_many(ARRAY['dup', 'other', 'dup'], ARRAY['"first"', '1', '"last!"']::jsonb[],
                         interval '1 hour');
SELECT * FROM psycache_get_many(ARRAY['dup']);
SELECT count(*) AS rows_for_dup FROM psycache WHERE key = 'dup';
-- expired entries are misses; put_many brings them back
SELECT psycache_put_many(ARRAY['old1', 'old2'], ARRAY['1', '2']::jsonb[], interval '-1 second');
SELECT * FROM psycache_get_many(ARRAY['old1', 'old2']);
SELECT psycache_put_many(ARRAY['old1'], ARRAY['"back"']::jsonb[], interval '1 hour');
SELECT * FROM psycache_get_many(ARRAY['old1', 'old2']);
-- JSON null is a value, not a miss
SELECT psycache_put_many(ARRAY['json-null'], ARRAY['null']::jsonb[], interval '1 hour');
SELECT key, value, value IS NULL AS is_sql_null, size FROM psycache_get_many(ARRAY['json-null']);
-- keys are compared exactly, whatever the collation sorts together
SELECT * FROM psycache_get_many(ARRAY['A', 'a ', 'a']);
-- a large value, stored out of line, comes back whole
SELECT psycache_put_many(ARRAY['big'], ARRAY[jsonb_build_object('s', repeat(md5('x'), 20000))],
                         interval '1 hour') AS big_size;
SELECT key, length(value->>'s') AS chars, size FROM psycache_get_many(ARRAY['big', 'a']);
-- get_many in a select list and in a join
SELECT (psycache_get_many(ARRAY['b', 'nope'])).*;
SELECT k.key, g.value FROM (VALUES ('a'), ('c')) AS k(key),
     LATERAL psycache_get_many(ARRAY[k.key]) AS g ORDER BY 1;

-- remove_many counts the live entries it removed; expired ones are deleted but not counted
SELECT psycache_put_many(ARRAY['gone'], ARRAY['1']::jsonb[], interval '-1 second');
SELECT psycache_remove_many(ARRAY['a', 'b', 'missing', 'gone', 'a']);
SELECT key FROM psycache WHERE key IN ('a', 'b', 'gone') ORDER BY key;
SELECT psycache_remove_many(ARRAY['a', 'b']);

-- a batch of 1000 keys, with a stride so that the order of the keys is not the order of the rows
SELECT cardinality(psycache_put_many(
    array_agg('k' || (i * 7919 % 1000) ORDER BY i),
    array_agg(to_jsonb(i * 7919 % 1000) ORDER BY i), interval '1 hour')) AS stored
FROM generate_series(1, 1000) AS i;
SELECT count(*) AS hits, bool_and(value = to_jsonb(substr(key, 2)::int)) AS values_match
FROM psycache_get_many(ARRAY(SELECT 'k' || i FROM generate_series(0, 999) AS i))
WHERE value IS NOT NULL;
SELECT psycache_remove_many(ARRAY(SELECT 'k' || i FROM generate_series(0, 1999) AS i));

DROP EXTENSION psycache;
