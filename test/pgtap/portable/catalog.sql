-- The portable install next to the extension, in one database: the same table, the same
-- functions with the same signatures (those of 1.0 and 1.1), and none of them in C. Run by
-- `./run test` with the
-- portable install (pg_prove --set portable=FILE, see ../install.psql).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir ../install.psql
CREATE SCHEMA psycache_ext;
CREATE EXTENSION psycache SCHEMA psycache_ext;
SELECT plan(11);

-- Each function's name, arguments (defaults and OUT ones included), result and properties: all
-- but those of pg_cron (psycache_schedule_cleanup, psycache_unschedule_cleanup), which the
-- portable install has not. Whether a function is SECURITY DEFINER is checked apart: the
-- portable psycache_create_cache is not (README, "Portable mode"). Not the planner's cost, which
-- PostgreSQL sets by language (1 for C, 100 for PL/pgSQL).
CREATE FUNCTION pg_temp.signatures(schema_name name) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT format('%s(%s) returns %s, %s, strict %s, parallel %s, rows %s, config %s',
                p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
                p.provolatile, p.proisstrict, p.proparallel, p.prorows, p.proconfig)
  FROM pg_proc AS p
  WHERE p.pronamespace = schema_name::regnamespace
    AND p.proname NOT IN ('psycache_schedule_cleanup', 'psycache_unschedule_cleanup')
  ORDER BY 1
$$;
CREATE FUNCTION pg_temp.table_layout(schema_name name) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(format('%s %s %s', a.attname, format_type(a.atttypid, a.atttypmod),
                           a.attnotnull), ', ' ORDER BY a.attnum)
         || ' ' || c.relpersistence::text || ' ' || array_to_string(c.reloptions, ',')
  FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0
  WHERE c.relnamespace = schema_name::regnamespace AND c.relname = 'psycache'
  GROUP BY c.relpersistence, c.reloptions
$$;

SELECT functions_are('psycache_tap', ARRAY['psycache_get', 'psycache_put', 'psycache_remove',
                     'psycache_cleanup', 'psycache_flush', 'psycache_stats',
                     'psycache_get_many', 'psycache_put_many', 'psycache_remove_many',
                     'psycache_add', 'psycache_touch', 'psycache_ttl', 'psycache_incr',
                     'psycache_caches', 'psycache_create_cache', 'psycache_drop_cache',
                     'psycache_cleanup_all'],
                     'the portable install makes the six cache functions of 1.0, the seven of '
                     '1.1 and the four that manage several caches');
SELECT set_eq($$SELECT * FROM pg_temp.signatures('psycache_tap')$$,
              $$SELECT * FROM pg_temp.signatures('psycache_ext')$$,
              'with the signatures and properties of the extension''s');
SELECT is((SELECT count(*) FROM pg_temp.signatures('psycache_tap')), 17::bigint, 'all 17');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc AS p
           WHERE p.pronamespace = 'psycache_tap'::regnamespace AND p.prosecdef), NULL,
          'none is SECURITY DEFINER: nothing needs more rights than the caller''s');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc AS p
           WHERE p.pronamespace = 'psycache_ext'::regnamespace AND p.prosecdef),
          ARRAY['psycache_create_cache'],
          'the extension''s psycache_create_cache is, to create C functions');
SELECT is((SELECT string_agg(DISTINCT l.lanname, ',' ORDER BY l.lanname) FROM pg_proc AS p
           JOIN pg_language AS l ON l.oid = p.prolang
           WHERE p.pronamespace = 'psycache_tap'::regnamespace), 'plpgsql,sql',
          'written in PL/pgSQL and SQL: nothing to install on the server');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc AS p
           WHERE p.pronamespace = 'psycache_tap'::regnamespace
             AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql')),
          (SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc AS p
           WHERE p.pronamespace = 'psycache_ext'::regnamespace
             AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql')),
          'in SQL where the extension''s is in SQL (psycache_caches)');
SELECT is(pg_temp.table_layout('psycache_tap'), pg_temp.table_layout('psycache_ext'),
          'the same table: columns, unlogged, storage settings');
SELECT indexes_are('psycache_tap', 'psycache', ARRAY['psycache_pkey', 'ix_psycache_expires_at'],
                   'the same indexes');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc AS p
           WHERE p.pronamespace = 'psycache_tap'::regnamespace
             AND has_function_privilege('public', p.oid, 'EXECUTE')), NULL,
          'PUBLIC may execute none of them');
SET LOCAL client_min_messages = warning;
\i :portable
SELECT pass('running the portable script again is harmless');

SELECT * FROM finish();
ROLLBACK;
