-- The functions of version 1.1 (batches, add, touch, ttl, incr): their signatures and attributes,
-- who may call them, and that they resolve nothing through the caller's search_path. Against the
-- extension, and against the portable install (see install.psql), whose functions are PL/pgSQL.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir install.psql
SELECT plan(84);
\if :{?portable}
\set language plpgsql
SELECT skip('the portable install is no extension: it has no version', 1);
\else
\set language c
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'psycache'), '1.1',
          'CREATE EXTENSION installs 1.1');
\endif

-- signatures
SELECT is(pg_get_function_arguments('psycache_tap.psycache_get_many(text[])'::regprocedure),
          'keys text[]', 'psycache_get_many(keys)');
SELECT is(pg_get_function_result('psycache_tap.psycache_get_many(text[])'::regprocedure),
          'TABLE(key text, value jsonb, size integer)', 'psycache_get_many returns (key, value, size) rows');
SELECT is(pg_get_function_arguments('psycache_tap.psycache_put_many(text[], jsonb[], interval)'::regprocedure),
          'keys text[], "values" jsonb[], ttl interval', 'psycache_put_many(keys, values, ttl)');
SELECT function_returns('psycache_tap', 'psycache_put_many', ARRAY['text[]', 'jsonb[]', 'interval'],
                        'integer[]', 'psycache_put_many returns the stored sizes, integer[]');
SELECT is(pg_get_function_arguments('psycache_tap.psycache_remove_many(text[])'::regprocedure),
          'keys text[]', 'psycache_remove_many(keys)');
SELECT function_returns('psycache_tap', 'psycache_remove_many', ARRAY['text[]'], 'bigint',
                        'psycache_remove_many returns a count, bigint');
SELECT is(pg_get_function_arguments('psycache_tap.psycache_add(text, jsonb, interval)'::regprocedure),
          'key text, value jsonb, ttl interval', 'psycache_add(key, value, ttl)');
SELECT function_returns('psycache_tap', 'psycache_add', ARRAY['text', 'jsonb', 'interval'], 'boolean',
                        'psycache_add returns whether it stored');
SELECT is(pg_get_function_arguments('psycache_tap.psycache_touch(text, interval)'::regprocedure),
          'key text, ttl interval', 'psycache_touch(key, ttl)');
SELECT function_returns('psycache_tap', 'psycache_touch', ARRAY['text', 'interval'], 'boolean',
                        'psycache_touch returns whether the key was live');
SELECT is(pg_get_function_arguments('psycache_tap.psycache_ttl(text)'::regprocedure),
          'key text', 'psycache_ttl(key)');
SELECT function_returns('psycache_tap', 'psycache_ttl', ARRAY['text'], 'interval',
                        'psycache_ttl returns an interval');
SELECT is(pg_get_function_arguments('psycache_tap.psycache_incr(text, bigint, interval)'::regprocedure),
          'key text, delta bigint, ttl interval', 'psycache_incr(key, delta, ttl)');
SELECT function_returns('psycache_tap', 'psycache_incr', ARRAY['text', 'bigint', 'interval'], 'bigint',
                        'psycache_incr returns the counter, bigint');

-- attributes: C (or PL/pgSQL), not strict (NULLs get errors), volatile, not SECURITY DEFINER,
-- parallel unsafe
CREATE TEMP TABLE new_functions (name text, args text[]);
INSERT INTO new_functions VALUES
  ('psycache_get_many', ARRAY['text[]']),
  ('psycache_put_many', ARRAY['text[]', 'jsonb[]', 'interval']),
  ('psycache_remove_many', ARRAY['text[]']),
  ('psycache_add', ARRAY['text', 'jsonb', 'interval']),
  ('psycache_touch', ARRAY['text', 'interval']),
  ('psycache_ttl', ARRAY['text']),
  ('psycache_incr', ARRAY['text', 'bigint', 'interval']);
SELECT function_lang_is('psycache_tap', name, args, :'language', name || ' is ' || :'language')
FROM new_functions;
SELECT isnt_strict('psycache_tap', name, args, name || ' is not strict') FROM new_functions;
SELECT volatility_is('psycache_tap', name, args, 'volatile', name || ' is volatile') FROM new_functions;
SELECT isnt_definer('psycache_tap', name, args, name || ' is not SECURITY DEFINER') FROM new_functions;
SELECT is((SELECT proparallel FROM pg_proc
           WHERE oid = ('psycache_tap.' || name || '(' || array_to_string(args, ',') || ')')::regprocedure),
          'u', name || ' is parallel unsafe') FROM new_functions;

-- privileges: only the extension's owner (the role that ran the portable script) may execute
-- them; others get "permission denied"
CREATE ROLE psycache_tap_nobody;
GRANT USAGE ON SCHEMA psycache_tap TO psycache_tap_nobody;
SELECT ok(NOT has_function_privilege('psycache_tap_nobody',
            ('psycache_tap.' || name || '(' || array_to_string(args, ',') || ')')::regprocedure, 'EXECUTE'),
          name || ' is not executable by PUBLIC') FROM new_functions;
SELECT ok(has_function_privilege(coalesce((SELECT extowner FROM pg_extension
                                           WHERE extname = 'psycache'), current_user::regrole),
            ('psycache_tap.' || name || '(' || array_to_string(args, ',') || ')')::regprocedure, 'EXECUTE'),
          name || ' is executable by the extension''s owner') FROM new_functions;
SET LOCAL ROLE psycache_tap_nobody;
SELECT throws_ok($$SELECT * FROM psycache_tap.psycache_get_many(ARRAY['k'])$$, '42501',
                 'permission denied for function psycache_get_many', 'no grant: psycache_get_many is refused');
SELECT throws_ok($$SELECT psycache_tap.psycache_incr('k', 1, interval '1 hour')$$, '42501',
                 'permission denied for function psycache_incr', 'no grant: psycache_incr is refused');
RESET ROLE;

-- The look-alikes of search_path.sql: a table, =, >, <=, statement_timestamp, pg_column_size.
CREATE SCHEMA hostile;
CREATE TABLE hostile.psycache (key text PRIMARY KEY, value jsonb NOT NULL, expires_at timestamptz NOT NULL);
INSERT INTO hostile.psycache VALUES ('decoy', '"decoy"', 'infinity');
CREATE FUNCTION hostile.text_eq(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.text_eq);
CREATE FUNCTION hostile.tz_cmp(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR hostile.> (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = hostile.tz_cmp);
CREATE OPERATOR hostile.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = hostile.tz_cmp);
CREATE FUNCTION hostile.num_plus(numeric, numeric) RETURNS numeric LANGUAGE sql AS 'SELECT 1000';
CREATE OPERATOR hostile.+ (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = hostile.num_plus);
CREATE FUNCTION hostile.statement_timestamp() RETURNS timestamptz LANGUAGE sql
  AS $$SELECT '-infinity'::timestamptz$$;
CREATE FUNCTION hostile.pg_column_size(jsonb) RETURNS integer LANGUAGE sql AS 'SELECT -1';
CREATE FUNCTION hostile.unnest(text[]) RETURNS SETOF text LANGUAGE sql AS $$SELECT 'decoy'$$;
CREATE FUNCTION hostile.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS $$SELECT 'number'$$;
CREATE TEMP TABLE psycache (key text, value jsonb, expires_at timestamptz);
INSERT INTO pg_temp.psycache VALUES ('decoy', '"temp decoy"', 'infinity');
CREATE FUNCTION pg_temp.hostile(query text) RETURNS text LANGUAGE plpgsql
SET search_path = hostile, pg_catalog, public AS $$
DECLARE
  result text;
BEGIN
  EXECUTE query INTO result;
  RETURN result;
END $$;

SELECT is(pg_temp.hostile($$SELECT count(*) FROM unnest(ARRAY['a'])$$), '1',
          'unqualified SQL would call the hostile unnest');
SELECT is(pg_temp.hostile($$SELECT psycache_tap.psycache_put_many(ARRAY['b', 'a', 'old'],
            ARRAY['{"b": 2}', '{"a": 1}', '"old"']::jsonb[], interval '1 hour')::text$$),
          '{25,25,12}', 'put_many stores with the real unnest and returns sizes');
SELECT is((SELECT array_agg(pg_column_size(value) ORDER BY array_position(ARRAY['b', 'a', 'old'], key))
           FROM psycache_tap.psycache), '{25,25,12}', 'the sizes are the stored ones');
SELECT is(pg_temp.hostile($$SELECT psycache_tap.psycache_touch('old', interval '-1 hour')::text$$), 'true',
          'touch expires an entry');
SELECT is(pg_temp.hostile($$SELECT string_agg(key || '=' || coalesce(value::text, 'miss'), ',')
            FROM psycache_tap.psycache_get_many(ARRAY['a', 'decoy', 'old', 'nope', 'b'])$$),
          'a={"a": 1},decoy=miss,old=miss,nope=miss,b={"b": 2}',
          'get_many finds the real entries, in order, and misses the decoys and the expired one');
SELECT is(pg_temp.hostile($$SELECT psycache_tap.psycache_ttl('nope')$$), NULL,
          'ttl misses a missing key');
SELECT is(pg_temp.hostile($$SELECT psycache_tap.psycache_ttl('old')$$), NULL,
          'ttl misses an expired key');
SELECT is(pg_temp.hostile($$SELECT psycache_tap.psycache_add('a', '"no"', interval '1 hour')::text$$), 'false',
          'add does not overwrite a live entry');
SELECT is(pg_temp.hostile($$SELECT psycache_tap.psycache_add('old', '"new"', interval '1 hour')::text$$), 'true',
          'add replaces an expired entry');
SELECT is(pg_temp.hostile($$SELECT psycache_tap.psycache_incr('n', 5, interval '1 hour')::text$$), '5',
          'incr creates a counter');
SELECT is(pg_temp.hostile($$SELECT psycache_tap.psycache_incr('n', 2, interval '1 hour')::text$$), '7',
          'incr adds with the real +');
SELECT throws_ok($$SELECT pg_temp.hostile($q$SELECT psycache_tap.psycache_incr('a', 1, interval '1 hour')::text$q$)$$,
                 '22023', 'psycache value under key "a" is not a JSON integer',
                 'incr sees the real JSON type');
SELECT is(pg_temp.hostile($$SELECT psycache_tap.psycache_remove_many(ARRAY['a', 'b', 'decoy', 'nope'])::text$$), '2',
          'remove_many removes the real entries only');
SELECT is((SELECT array_agg(key ORDER BY key) FROM psycache_tap.psycache), ARRAY['n', 'old'],
          'what is left');
SELECT is((SELECT count(*) FROM hostile.psycache), 1::bigint, 'the hostile table is untouched');
SELECT is((SELECT count(*) FROM pg_temp.psycache), 1::bigint, 'the temporary table is untouched');

-- the schema can be renamed: the plans follow it (the portable functions have their schema's name
-- written in them: after renaming, the portable script runs again)
\if :{?portable}
SELECT skip('the portable functions name their schema: rename, then run the script again', 2);
\else
ALTER SCHEMA psycache_tap RENAME TO psycache_tap2;
SELECT is((SELECT count(*) FROM psycache_tap2.psycache_get_many(ARRAY['n', 'old']) WHERE value IS NOT NULL),
          2::bigint, 'get_many reads the renamed schema');
SELECT is(psycache_tap2.psycache_incr('n', 1, interval '1 hour'), 8::bigint, 'incr writes the renamed schema');
\endif

SELECT * FROM finish();
ROLLBACK;
