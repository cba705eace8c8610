-- The cache functions never resolve a name through the caller's search_path: look-alike tables,
-- functions and operators planted ahead of the real ones are never used.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir install.psql
SELECT plan(30);

-- A schema of look-alikes.
CREATE SCHEMA hostile;
CREATE TABLE hostile.psycache (key text PRIMARY KEY, value jsonb NOT NULL, expires_at timestamptz NOT NULL);
INSERT INTO hostile.psycache VALUES ('decoy', '"decoy"', 'infinity');
CREATE FUNCTION hostile.text_eq(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.text_eq);
CREATE FUNCTION hostile.tz_cmp(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR hostile.> (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = hostile.tz_cmp);
CREATE OPERATOR hostile.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = hostile.tz_cmp);
CREATE FUNCTION hostile.statement_timestamp() RETURNS timestamptz LANGUAGE sql
  AS $$SELECT '-infinity'::timestamptz$$;
CREATE FUNCTION hostile.pg_column_size(jsonb) RETURNS integer LANGUAGE sql AS 'SELECT -1';
-- pg_column_size(jsonb) is a closer match than pg_catalog.pg_column_size("any"): it would win
-- even behind pg_catalog, from public.
CREATE FUNCTION public.pg_column_size(jsonb) RETURNS integer LANGUAGE sql AS 'SELECT -2';
-- A temporary table is found before any schema, pg_catalog included.
CREATE TEMP TABLE psycache (key text, value jsonb, expires_at timestamptz);
INSERT INTO pg_temp.psycache VALUES ('decoy', '"temp decoy"', 'infinity');

-- Runs query with the look-alikes ahead of pg_catalog (pgTAP itself is kept out of their way).
CREATE FUNCTION pg_temp.hostile(query text) RETURNS text LANGUAGE plpgsql
SET search_path = hostile, pg_catalog, public AS $$
DECLARE
  result text;
BEGIN
  EXECUTE query INTO result;
  RETURN result;
END $$;

-- First, the look-alikes do take over unqualified SQL.
SELECT is(pg_temp.hostile($$SELECT count(*) FROM psycache WHERE key = 'no such key'$$), '1',
          'unqualified SQL reads the temporary table, through the hostile =');
SELECT is(pg_temp.hostile($$SELECT pg_column_size('{}'::jsonb)$$), '-1',
          'unqualified SQL calls the hostile pg_column_size');
SELECT is(pg_temp.hostile($$SELECT statement_timestamp()$$), '-infinity',
          'unqualified SQL calls the hostile statement_timestamp');

-- The cache functions use none of them.
SELECT cmp_ok(pg_temp.hostile($$SELECT psycache_tap.psycache_put('a', '{"a": 1}', interval '1 hour')$$)::int,
              '>', 0, 'put returns a real size, not one of the look-alikes'' -1 or -2');
SELECT cmp_ok(pg_temp.hostile($$SELECT psycache_tap.psycache_put('b', '{"b": 2}', interval '1 hour')$$)::int,
              '>', 0, 'put of a second key');
SELECT cmp_ok(pg_temp.hostile($$SELECT psycache_tap.psycache_put('old', '"old"', interval '-1 hour')$$)::int,
              '>', 0, 'put of an expired entry');
SELECT is(pg_temp.hostile($$SELECT value FROM psycache_tap.psycache_get('a')$$), '{"a": 1}',
          'get finds the entry with the real =');
SELECT is(pg_temp.hostile($$SELECT size FROM psycache_tap.psycache_get('a')$$),
          (SELECT pg_catalog.pg_column_size(value)::text FROM psycache_tap.psycache WHERE key = 'a'),
          'get returns the real size');
SELECT is(pg_temp.hostile($$SELECT value FROM psycache_tap.psycache_get('no such key')$$), NULL,
          'get misses a missing key (the hostile = would match any row)');
SELECT is(pg_temp.hostile($$SELECT value FROM psycache_tap.psycache_get('decoy')$$), NULL,
          'get reads neither decoy table');
SELECT is(pg_temp.hostile($$SELECT value FROM psycache_tap.psycache_get('old')$$), NULL,
          'get misses an expired entry (the hostile clock and > would keep it)');
SELECT is(pg_temp.hostile($$SELECT psycache_tap.psycache_remove('no such key')$$), 'false',
          'remove of a missing key removes nothing');
SELECT is(pg_temp.hostile($$SELECT psycache_tap.psycache_cleanup()$$), '1',
          'cleanup deletes only the expired entry (the hostile <= would delete all)');
SELECT is(pg_temp.hostile($$SELECT entries FROM psycache_tap.psycache_stats()$$), '2',
          'stats count the real entries');
SELECT is(pg_temp.hostile($$SELECT psycache_tap.psycache_flush()$$), '2',
          'flush deletes the real entries, and only them');
SELECT is((SELECT count(*) FROM hostile.psycache), 1::bigint, 'the hostile table is untouched');
SELECT is((SELECT count(*) FROM pg_temp.psycache), 1::bigint, 'the temporary table is untouched');

-- The default search_path, with the look-alike pg_column_size in public.
SET LOCAL search_path = "$user", public;
SELECT cmp_ok(psycache_tap.psycache_put('c', '[1, 2, 3]', interval '1 hour'), '>', 0,
              'put ignores public.pg_column_size');
SELECT is((SELECT size FROM psycache_tap.psycache_get('c')),
          (SELECT pg_catalog.pg_column_size(value) FROM psycache_tap.psycache WHERE key = 'c'),
          'get ignores public.pg_column_size');

-- Look-alikes in public, with public searched ahead of pg_catalog, as a careless or hostile
-- role might set it: a public.psycache table, and operators and functions shadowing pg_catalog's.
CREATE TABLE public.psycache (key text PRIMARY KEY, value jsonb NOT NULL, expires_at timestamptz NOT NULL);
INSERT INTO public.psycache VALUES ('decoy', '"public decoy"', 'infinity');
CREATE FUNCTION public.text_eq(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.text_eq);
CREATE FUNCTION public.tz_cmp(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR public.> (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.tz_cmp);
CREATE OPERATOR public.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.tz_cmp);
CREATE FUNCTION public.statement_timestamp() RETURNS timestamptz LANGUAGE sql
  AS $$SELECT '-infinity'::timestamptz$$;
CREATE FUNCTION public.pg_total_relation_size(regclass) RETURNS bigint LANGUAGE sql AS 'SELECT -1::bigint';
DROP TABLE pg_temp.psycache;

-- Runs query with public ahead of pg_catalog (pgTAP, installed in public, stays out of it).
CREATE FUNCTION pg_temp.public_first(query text) RETURNS text LANGUAGE plpgsql
SET search_path = public, pg_catalog AS $$
DECLARE
  result text;
BEGIN
  EXECUTE query INTO result;
  RETURN result;
END $$;

SELECT is(pg_temp.public_first($$SELECT count(*) FROM psycache WHERE key = 'no such key'$$), '1',
          'unqualified SQL now reads public.psycache, through public.=');
SELECT cmp_ok(pg_temp.public_first($$SELECT psycache_tap.psycache_put('p', '{"p": 1}', interval '1 hour')$$)::int,
              '>', 0, 'with public first: put returns a real size');
SELECT cmp_ok(pg_temp.public_first($$SELECT psycache_tap.psycache_put('p_old', '"old"', interval '-1 hour')$$)::int,
              '>', 0, 'with public first: put of an expired entry');
SELECT is(pg_temp.public_first($$SELECT value FROM psycache_tap.psycache_get('p')$$), '{"p": 1}',
          'with public first: get finds the entry');
SELECT is(pg_temp.public_first($$SELECT value FROM psycache_tap.psycache_get('decoy')$$), NULL,
          'with public first: get does not read public.psycache');
SELECT is(pg_temp.public_first($$SELECT value FROM psycache_tap.psycache_get('p_old')$$), NULL,
          'with public first: get misses the expired entry');
SELECT is(pg_temp.public_first($$SELECT psycache_tap.psycache_remove('no such key')$$), 'false',
          'with public first: remove of a missing key removes nothing');
SELECT is(pg_temp.public_first($$SELECT psycache_tap.psycache_cleanup()$$), '1',
          'with public first: cleanup deletes only the expired entry');
SELECT cmp_ok(pg_temp.public_first($$SELECT total_bytes FROM psycache_tap.psycache_stats()$$)::bigint,
              '>', 0::bigint, 'with public first: stats use pg_catalog.pg_total_relation_size');
SELECT is(pg_temp.public_first($$SELECT psycache_tap.psycache_flush()$$), '2',
          'with public first: flush deletes the real entries (p, and c from above), and only them');
SELECT is((SELECT value FROM public.psycache WHERE key OPERATOR(pg_catalog.=) 'decoy'),
          '"public decoy"'::jsonb, 'public.psycache is untouched');

SELECT * FROM finish();
ROLLBACK;
