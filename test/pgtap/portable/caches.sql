-- What the portable psycache_create_cache does beyond caches.sql: its copies of the cache functions
-- name their own schema only and all work there, 1.1 ones included; it completes a cache, keeps a
-- table that holds entries, and refuses what it cannot make safely. Next to the extension, each
-- side lists and drops only its own caches. Run by `./run test` with the portable install
-- (pg_prove --set portable=FILE, see ../install.psql).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir ../install.psql
CREATE SCHEMA psycache_ext;
CREATE EXTENSION psycache SCHEMA psycache_ext;
SET LOCAL search_path = public;
SELECT plan(24);

CREATE SCHEMA cache_c;
SELECT lives_ok($$SELECT psycache_tap.psycache_create_cache('cache_c')$$, 'a cache in cache_c');
SELECT is((SELECT count(*) FROM pg_proc WHERE pronamespace = 'cache_c'::regnamespace), 13::bigint,
          'with the 13 cache functions');
SELECT is((SELECT array_agg(proname::text ORDER BY proname) FROM pg_proc
           WHERE pronamespace = 'cache_c'::regnamespace
             AND (prosrc LIKE '%psycache_tap%' OR prosrc NOT LIKE '%"cache_c".psycache%')), NULL,
          'each of them names cache_c, and none the schema it was copied from');

-- Every function of the copy works on cache_c's table only.
SELECT is(cache_c.psycache_put_many(ARRAY['a', 'b'], ARRAY['1', '"two"']::jsonb[], interval '1 hour'),
          ARRAY[17, 12], 'put_many');
SELECT is((SELECT array_agg(coalesce(value::text, 'miss') ORDER BY key)
           FROM cache_c.psycache_get_many(ARRAY['a', 'b', 'c'])), ARRAY['1', '"two"', 'miss'],
          'get_many');
SELECT is(cache_c.psycache_incr('a', 41, interval '1 hour'), 42::bigint, 'incr');
SELECT is(cache_c.psycache_add('a', '0', interval '1 hour'), false, 'add');
SELECT is(cache_c.psycache_touch('b', interval '2 hours'), true, 'touch');
SELECT cmp_ok(cache_c.psycache_ttl('b'), '>', interval '1 hour', 'ttl');
SELECT is(cache_c.psycache_remove_many(ARRAY['b', 'nope']), 1::bigint, 'remove_many');
SELECT is((SELECT entries || ' ' || (total_bytes > 0) FROM cache_c.psycache_stats()), '1 true',
          'stats, of its own table');
SELECT is((SELECT count(*) FROM psycache_tap.psycache), 0::bigint, 'the first cache saw nothing');
SELECT throws_ok($$SELECT cache_c.psycache_incr(NULL, 1, interval '1 hour')$$, '22004',
                 'psycache key must not be null', 'and the copies check their arguments');

-- Running it again completes a cache: a function that went missing comes back.
DROP FUNCTION cache_c.psycache_incr(text, bigint, interval);
SELECT lives_ok($$SELECT psycache_tap.psycache_create_cache('cache_c')$$, 'again');
SELECT is(cache_c.psycache_incr('a', 1, interval '1 hour'), 43::bigint,
          'completes the cache, keeping its entries');

-- A table psycache already there, such as the Python psycache's, is kept with its entries.
CREATE SCHEMA python_made;
CREATE TABLE python_made.psycache (key text PRIMARY KEY, value jsonb NOT NULL,
                                   expires_at timestamptz NOT NULL);
INSERT INTO python_made.psycache VALUES ('k', '"from python"', 'infinity');
SELECT psycache_tap.psycache_create_cache('python_made');
SELECT is((SELECT value FROM python_made.psycache_get('k')), '"from python"'::jsonb,
          'a Python psycache table becomes a cache with its entries');
CREATE SCHEMA not_a_cache;
CREATE TABLE not_a_cache.psycache (id int);
SELECT throws_ok($$SELECT psycache_tap.psycache_create_cache('not_a_cache')$$, '42P07',
                 'schema not_a_cache holds a table psycache that is not a cache table',
                 'a table psycache of another shape is refused');

-- What cannot be made safely is refused.
CREATE SCHEMA "it's";
SELECT throws_ok($$SELECT psycache_tap.psycache_create_cache('it''s')$$, '42602',
                 'invalid schema name ''it''''s'' for a portable cache',
                 'a schema name with a quote is refused, as by psycache init-db --portable');
SELECT throws_ok($$SELECT psycache_tap.psycache_create_cache('psycache_ext')$$, '42723',
                 'schema psycache_ext holds the psycache extension''s cache functions',
                 'so is the extension''s schema: the portable functions never replace its');

-- Next to the extension, each lists and drops its own caches only.
CREATE SCHEMA ext_cache;
SELECT psycache_ext.psycache_create_cache('ext_cache');
SELECT is((SELECT array_agg(schema_name::text ORDER BY schema_name) FROM psycache_tap.psycache_caches()),
          ARRAY['cache_c', 'psycache_tap', 'python_made'], 'the portable caches');
SELECT is((SELECT array_agg(schema_name::text ORDER BY schema_name) FROM psycache_ext.psycache_caches()),
          ARRAY['ext_cache', 'psycache_ext'], 'the extension''s caches');
SELECT is(psycache_tap.psycache_drop_cache('psycache_ext'), false,
          'the portable drop_cache finds no cache of its own in the extension''s schema');
SELECT is((SELECT count(*) FROM pg_proc WHERE pronamespace = 'psycache_ext'::regnamespace
           AND proname = 'psycache_get'), 1::bigint, 'and leaves its functions');
SELECT is(psycache_tap.psycache_drop_cache('cache_c'), true, 'it drops cache_c');

SELECT * FROM finish();
ROLLBACK;
