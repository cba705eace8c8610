-- The portable install next to the extension, in one database: the same table, the same
-- functions with the same signatures, and none of them in C. Run by `./run test` with the
-- portable install (pg_prove --set portable=FILE, see ../install.psql).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir ../install.psql
CREATE SCHEMA psycache_ext;
CREATE EXTENSION psycache SCHEMA psycache_ext;
SELECT plan(8);

-- Each function's name, arguments (defaults and OUT ones included), result and properties.
CREATE FUNCTION pg_temp.signatures(schema_name name) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT format('%s(%s) returns %s, %s, strict %s, definer %s', p.proname,
                pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
                p.provolatile, p.proisstrict, p.prosecdef)
  FROM pg_proc AS p
  WHERE p.pronamespace = schema_name::regnamespace
    AND p.proname IN ('psycache_get', 'psycache_put', 'psycache_remove', 'psycache_cleanup',
                      'psycache_flush', 'psycache_stats')
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
                     'psycache_cleanup', 'psycache_flush', 'psycache_stats'],
                     'the portable install makes the six cache functions');
SELECT set_eq($$SELECT * FROM pg_temp.signatures('psycache_tap')$$,
              $$SELECT * FROM pg_temp.signatures('psycache_ext')$$,
              'with the signatures and properties of the extension''s');
SELECT is((SELECT count(*) FROM pg_temp.signatures('psycache_tap')), 6::bigint, 'all six');
SELECT is((SELECT string_agg(DISTINCT l.lanname, ',') FROM pg_proc AS p
           JOIN pg_language AS l ON l.oid = p.prolang
           WHERE p.pronamespace = 'psycache_tap'::regnamespace), 'plpgsql',
          'written in PL/pgSQL: nothing to install on the server');
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
