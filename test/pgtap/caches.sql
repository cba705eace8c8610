-- Several caches in one database: psycache_create_cache gives a schema its own table and cache
-- functions, with the same names and signatures; each cache keeps its own data, flush, cleanup and
-- stats. Who may create, use and drop one. Against the extension, and against the portable install
-- (see install.psql), whose psycache_create_cache copies its PL/pgSQL cache functions.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(47);

CREATE ROLE psycache_tap_creator;
CREATE ROLE psycache_tap_nobody;
SELECT format('GRANT CREATE ON DATABASE %I TO psycache_tap_creator', current_database()) \gexec
CREATE SCHEMA cache_a AUTHORIZATION psycache_tap_creator;
CREATE SCHEMA "Cache B" AUTHORIZATION psycache_tap_creator;
CREATE SCHEMA not_yours;


-- A role that is no superuser installs psycache in its schema psycache_tap and makes two more
-- caches.
SET ROLE psycache_tap_creator;
\ir install.psql
GRANT USAGE ON SCHEMA psycache_tap TO psycache_tap_nobody;
SELECT lives_ok($$SELECT psycache_tap.psycache_create_cache('cache_a')$$,
                'the extension''s owner makes a cache in its schema cache_a');
SELECT lives_ok($$SELECT psycache_tap.psycache_create_cache('Cache B')$$,
                'and one in "Cache B", a name that needs quoting');
SELECT lives_ok($$SELECT psycache_tap.psycache_create_cache('cache_a')$$,
                'making a cache again is harmless');
SELECT is((SELECT string_agg(schema_name || ' ' || extension_schema, ', ')
           FROM psycache_tap.psycache_caches()),
          'psycache_tap true, Cache B false, cache_a false',
          'psycache_caches() lists the extension''s own cache first, then the others by name');
SELECT throws_ok($$SELECT psycache_tap.psycache_create_cache('not_yours')$$, '42501',
                 'permission denied for schema not_yours',
                 'no cache in a schema where the owner may not create objects');
SELECT throws_ok($$SELECT psycache_tap.psycache_create_cache('not_yours', 'psycache_tap_creator')$$,
                 '42501', 'permission denied for schema not_yours',
                 'the role named as owner must be allowed to create objects in the schema');
SELECT throws_ok($$SELECT psycache_tap.psycache_create_cache('no_such_schema')$$, '3F000',
                 'schema "no_such_schema" does not exist', 'the schema must exist');
SELECT throws_ok($$SELECT psycache_tap.psycache_create_cache(NULL)$$, '22004',
                 'psycache schema must not be null', 'a NULL schema is refused');
RESET ROLE;

-- The same objects as the extension's, owned by their creator.
SELECT tables_are('cache_a', ARRAY['psycache'], 'cache_a holds one table');
SELECT indexes_are('cache_a', 'psycache', ARRAY['psycache_pkey', 'ix_psycache_expires_at'],
                   'with the primary key and ix_psycache_expires_at');
SELECT is((SELECT relpersistence::text || ' ' || array_to_string(reloptions, ',')
           FROM pg_class WHERE oid = 'cache_a.psycache'::regclass),
          'u autovacuum_vacuum_scale_factor=0.02,autovacuum_vacuum_threshold=1000',
          'unlogged, with the extension''s storage settings');
-- The cache functions: every C function of the extension but the two pg_cron ones; every PL/pgSQL
-- function of the portable install but the three that manage caches.
CREATE FUNCTION pg_temp.cache_functions(schema_name name) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT format('%s(%s) returns %s, %s, strict %s, definer %s, parallel %s', p.proname,
                pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), p.provolatile,
                p.proisstrict, p.prosecdef, p.proparallel)
  FROM pg_proc AS p
  WHERE p.pronamespace = schema_name::regnamespace
    AND p.prolang IN (SELECT oid FROM pg_language WHERE lanname IN ('c', 'plpgsql'))
    AND p.proname NOT IN ('psycache_schedule_cleanup', 'psycache_unschedule_cleanup',
                          'psycache_create_cache', 'psycache_drop_cache', 'psycache_cleanup_all')
$$;
SELECT set_eq($$SELECT * FROM pg_temp.cache_functions('cache_a')$$,
              $$SELECT * FROM pg_temp.cache_functions('psycache_tap')$$,
              'cache_a holds the extension''s cache functions: names, signatures (defaults '
              'included) and properties');
SELECT is((SELECT count(*) FROM pg_proc WHERE pronamespace = 'cache_a'::regnamespace),
          (SELECT count(*) FROM pg_temp.cache_functions('psycache_tap')),
          'and nothing else');
SELECT cmp_ok((SELECT count(*) FROM pg_temp.cache_functions('cache_a')), '>=', 6::bigint,
              'at least the six of 1.0');
SELECT is((SELECT string_agg(DISTINCT p.proowner::regrole::text, ',') FROM pg_proc AS p
           WHERE p.pronamespace = 'cache_a'::regnamespace), 'psycache_tap_creator',
          'the functions are owned by the role that made the cache');
SELECT is((SELECT relowner::regrole::text FROM pg_class WHERE oid = 'cache_a.psycache'::regclass),
          'psycache_tap_creator', 'and so is the table');
SELECT is((SELECT count(*) FROM pg_depend AS d
           WHERE d.deptype = 'e' AND d.classid = 'pg_proc'::regclass
             AND d.objid IN (SELECT oid FROM pg_proc WHERE pronamespace = 'cache_a'::regnamespace)),
          0::bigint, 'they are not members of the extension');

-- Each cache has its own entries, flush, cleanup and stats.
SET ROLE psycache_tap_creator;
SELECT is(psycache_tap.psycache_put('k', '"main"', interval '1 hour'), 13, 'put in the main cache');
SELECT is(cache_a.psycache_put('k', '"a"', interval '1 hour'), 10, 'put the same key in cache_a');
SELECT is("Cache B".psycache_put('k', '"b"', interval '1 hour'), 10, 'and in "Cache B"');
SELECT is((SELECT value FROM psycache_tap.psycache_get('k')), '"main"'::jsonb,
          'the main cache has its own value');
SELECT is((SELECT value FROM cache_a.psycache_get('k')), '"a"'::jsonb, 'cache_a its own');
SELECT is((SELECT value FROM "Cache B".psycache_get('k')), '"b"'::jsonb, '"Cache B" its own');
SELECT is((SELECT count(*) FROM cache_a.psycache), 1::bigint, 'cache_a''s table holds its entry');
SELECT cache_a.psycache_put('old:' || i, '1', interval '-1 minute') FROM generate_series(1, 3) AS i;
SELECT "Cache B".psycache_put('old:' || i, '1', interval '-1 minute') FROM generate_series(1, 5) AS i;
SELECT is((SELECT entries || '/' || expired_entries FROM cache_a.psycache_stats()), '4/3',
          'cache_a''s stats count its entries');
SELECT is((SELECT entries || '/' || expired_entries FROM "Cache B".psycache_stats()), '6/5',
          '"Cache B"''s stats its own');
SELECT is((SELECT total_bytes > 0 FROM cache_a.psycache_stats()), true,
          'and the size of its own table');
SELECT is(cache_a.psycache_cleanup(), 3::bigint, 'cleanup in cache_a deletes its 3 expired entries');
SELECT is((SELECT expired_entries FROM "Cache B".psycache_stats()), 5::bigint,
          'and none of "Cache B"''s');
SELECT is(cache_a.psycache_remove('k'), true, 'remove in cache_a');
SELECT is((SELECT value FROM "Cache B".psycache_get('k')), '"b"'::jsonb,
          'leaves the same key in "Cache B"');
SELECT is(psycache_tap.psycache_flush(), 1::bigint, 'flush of the main cache deletes its entry');
SELECT is((SELECT entries FROM "Cache B".psycache_stats()), 6::bigint,
          'and nothing of "Cache B"');
SELECT throws_ok($$SELECT cache_a.psycache_put(repeat('k', 2049), '1', interval '1 hour')$$,
                 '54000', 'psycache key is 2049 bytes long, over the limit of 2048 bytes',
                 'a cache''s functions check their arguments as the extension''s do');
SELECT cache_a.psycache_put('old', '1', interval '-1 minute');
SELECT is(psycache_tap.psycache_cleanup_all(), 6::bigint,
          'psycache_cleanup_all() cleans every cache: 1 in cache_a, 5 in "Cache B"');
RESET ROLE;

-- Nobody else may use a cache until granted.
SET ROLE psycache_tap_nobody;
SELECT throws_ok($$SELECT * FROM cache_a.psycache_get('k')$$, '42501',
                 'permission denied for schema cache_a', 'a role without grants cannot use cache_a');
SELECT throws_ok($$SELECT psycache_tap.psycache_create_cache('cache_a')$$, '42501',
                 'permission denied for function psycache_create_cache',
                 'nor make caches: psycache_create_cache is granted to the extension''s owner only');
SELECT throws_ok($$SELECT * FROM psycache_tap.psycache_caches()$$, '42501',
                 'permission denied for function psycache_caches', 'nor list them');
SELECT throws_ok($$SELECT psycache_tap.psycache_cleanup_all()$$, '42501',
                 'permission denied for function psycache_cleanup_all', 'nor clean them all up');
SELECT throws_ok($$SELECT psycache_tap.psycache_drop_cache('Cache B')$$, '42501',
                 'permission denied for function psycache_drop_cache', 'nor drop one');
RESET ROLE;
SET ROLE psycache_tap_creator;
GRANT USAGE ON SCHEMA "Cache B" TO psycache_tap_nobody;
GRANT EXECUTE ON FUNCTION "Cache B".psycache_get(text) TO psycache_tap_nobody;
GRANT SELECT ON "Cache B".psycache TO psycache_tap_nobody;
RESET ROLE;
SET ROLE psycache_tap_nobody;
SELECT is((SELECT value FROM "Cache B".psycache_get('k')), '"b"'::jsonb,
          'the owner of a cache grants what its functions need, as with the extension''s');
SELECT throws_ok($$SELECT "Cache B".psycache_put('k', '1', interval '1 hour')$$, '42501',
                 'permission denied for function psycache_put', 'and nothing more');
RESET ROLE;

-- Dropping: a cache with its table and functions; the extension's own only with the extension.
SET ROLE psycache_tap_creator;
SELECT is(psycache_tap.psycache_drop_cache('cache_a'), true, 'psycache_drop_cache drops cache_a');
SELECT is((SELECT count(*) FROM pg_proc WHERE pronamespace = 'cache_a'::regnamespace)
          + (SELECT count(*) FROM pg_class WHERE relnamespace = 'cache_a'::regnamespace),
          0::bigint, 'its functions, table and indexes are gone');
SELECT is(psycache_tap.psycache_drop_cache('cache_a'), false, 'dropping it again finds nothing');
\if :{?portable}
SELECT throws_ok($$SELECT psycache_tap.psycache_drop_cache('psycache_tap')$$, '55006',
                 'schema psycache_tap holds the psycache portable install''s own cache',
                 'the portable install''s own cache is not dropped this way');
SET LOCAL client_min_messages = warning;
DROP SCHEMA psycache_tap CASCADE;
RESET client_min_messages;
\else
SELECT throws_ok($$SELECT psycache_tap.psycache_drop_cache('psycache_tap')$$, '55006',
                 'schema psycache_tap holds the psycache extension''s own cache',
                 'the extension''s own cache goes with DROP EXTENSION only');
DROP EXTENSION psycache;
\endif
RESET ROLE;
SELECT is((SELECT value FROM "Cache B".psycache_get('k')), '"b"'::jsonb,
          'dropping the extension (or the portable install''s own schema) leaves the other '
          'caches, which keep working');

SELECT * FROM finish();
ROLLBACK;
