-- Bad and odd input, table-driven: every key, value, ttl and schema name below either round-trips
-- exactly or is refused with its own SQLSTATE, and in both cases what was stored before is intact.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE SCHEMA psycache_tap;
CREATE EXTENSION psycache SCHEMA psycache_tap;
SET LOCAL search_path = psycache_tap, public;
SELECT plan(96);

SELECT is(psycache_put('kept', '{"kept": true}', interval '1 hour'), 17, 'an entry to keep');

-- Keys that are stored as given: text is data, whatever it looks like.
CREATE TEMP TABLE good_keys (description text, key text);
INSERT INTO good_keys VALUES
  ('the empty key', ''),
  ('a key of 2048 bytes, the limit', repeat('k', 2048)),
  ('a key of 1024 two-byte characters (2048 bytes)', repeat('é', 1024)),
  ('control characters', E'\x01\x02\t\n\r\x1b\x7f'),
  ('quotes and backslashes', E'\'"\\'),
  ('SQL in a key', $$'); DROP TABLE psycache_tap.psycache; --$$),
  ('LIKE wildcards', '%_%'),
  ('four-byte UTF-8', 'key 🔑 ключ'),
  ('a key that looks like JSON', '{"key": 1}'),
  ('only spaces', '   ');
SELECT is(psycache_put(key, pg_catalog.jsonb_build_object('key', key), interval '1 hour') > 0, true,
          'put: ' || description) FROM good_keys ORDER BY description;
SELECT is((SELECT value FROM psycache_get(key)), pg_catalog.jsonb_build_object('key', key),
          'get returns it: ' || description) FROM good_keys ORDER BY description;
SELECT is((SELECT count(*) FROM psycache WHERE key IN (SELECT key FROM good_keys)), 10::bigint,
          'each key is its own entry');

-- Keys that are refused: by psycache (54000), or by PostgreSQL before psycache sees them, since
-- text in a UTF8 database holds neither NUL nor invalid UTF-8 (22021).
CREATE TEMP TABLE bad_keys (description text, key_sql text, sqlstate text);
INSERT INTO bad_keys VALUES
  ('a key of 2049 bytes', $$repeat('k', 2049)$$, '54000'),
  ('a key of 1 MB', $$repeat('k', 1048576)$$, '54000'),
  ('a NUL byte', $$convert_from('\x6b00', 'UTF8')$$, '22021'),
  ('invalid UTF-8', $$convert_from('\x6bff', 'UTF8')$$, '22021'),
  ('a lone UTF-16 surrogate', $$convert_from('\xeda080', 'UTF8')$$, '22021');
SELECT throws_ok(format('SELECT psycache_tap.psycache_put(%s, %L, interval %L)', key_sql, '1', '1 hour'),
                 sqlstate, NULL, 'put refuses ' || description) FROM bad_keys ORDER BY description;
SELECT throws_ok(format('SELECT * FROM psycache_tap.psycache_get(%s)', key_sql),
                 sqlstate, NULL, 'get refuses ' || description) FROM bad_keys ORDER BY description;

-- Values of every JSON type round-trip, as jsonb normalizes them.
CREATE TEMP TABLE good_values (description text, value jsonb);
INSERT INTO good_values VALUES
  ('JSON null (not a miss)', 'null'),
  ('true', 'true'),
  ('false', 'false'),
  ('zero', '0'),
  ('a negative fraction', '-0.5'),
  ('a number past double''s range', '1e1000'),
  ('a number with 100 digits', ('1' || repeat('0', 99))::jsonb),
  ('the empty string', '""'),
  ('a string with escapes', '"tab\tquote\"backslash\\ \u00e9 \ud83d\udd11"'),
  ('a string of SQL', $$"'); DROP TABLE psycache_tap.psycache; --"$$),
  ('the empty array', '[]'),
  ('the empty object', '{}'),
  ('an object with an empty key', '{"": 1}'),
  ('mixed nesting', '{"a": [1, {"b": null}, [true, "x"]], "c": {}}'),
  ('10000 nested arrays', (repeat('[', 10000) || repeat(']', 10000))::jsonb),
  ('a value of 10 MB', pg_catalog.to_jsonb(repeat('v', 10 * 1024 * 1024)));
SELECT is(psycache_put('value:' || description, value, interval '1 hour') > 0, true,
          'put: ' || description) FROM good_values ORDER BY description;
SELECT ok((SELECT g.value = v.value AND g.size = pg_catalog.pg_column_size(c.value)
           FROM psycache_get('value:' || v.description) AS g, psycache AS c
           WHERE c.key = 'value:' || v.description),
          'get returns it and its size: ' || v.description) FROM good_values AS v ORDER BY description;

-- Values that are refused, at the jsonb cast of the argument.
CREATE TEMP TABLE bad_values (description text, value_sql text, sqlstate text);
INSERT INTO bad_values VALUES
  ('a NUL character', $$'"\u0000"'$$, '22P05'),
  ('a lone surrogate escape', $$'"\ud800"'$$, '22P02'),
  ('NaN', $$'NaN'$$, '22P02'),
  ('Infinity', $$'Infinity'$$, '22P02'),
  ('a trailing comma', $$'[1,]'$$, '22P02'),
  ('two documents', $$'1 2'$$, '22P02'),
  ('100000 nested arrays, past the server''s stack depth', $$repeat('[', 100000) || repeat(']', 100000)$$, '54001');
SELECT throws_ok(format('SELECT psycache_tap.psycache_put(%L, (%s)::jsonb, interval %L)', 'kept', value_sql, '1 hour'),
                 sqlstate, NULL, 'put refuses ' || description) FROM bad_values ORDER BY description;

-- ttls: what is stored and for how long, or the refusal.
CREATE TEMP TABLE ttls (description text, ttl_sql text, outcome text);
INSERT INTO ttls VALUES
  ('one microsecond', $$interval '1 microsecond'$$, 'stored'),
  ('zero: expired at once', $$interval '0'$$, 'expired'),
  ('negative: expired at once', $$interval '-5 minutes'$$, 'expired'),
  ('a month and a day', $$interval '1 month 1 day'$$, 'live'),
  ('10000 years', $$interval '10000 years'$$, 'live'),
  ('past the end of timestamptz', $$interval '300000 years'$$, '22008'),
  ('the most microseconds an interval holds', $$interval '9223372036854775807 microseconds'$$, '22008'),
  ('an overflowing literal', $$interval '9223372036854775808 microseconds'$$, '22015'),
  ('NaN (no such interval)', $$'NaN'::interval$$, '22007'),
  ('infinity (no such interval in PostgreSQL 15)', $$'infinity'::interval$$, '22007'),
  ('a number, not an interval', $$42$$, '42883');
SELECT CASE WHEN outcome ~ '^[0-9A-Z]{5}$'
  THEN throws_ok(format('SELECT psycache_tap.psycache_put(%L, %L, %s)', 'ttl:' || description, '1', ttl_sql),
                 outcome, NULL, 'put refuses a ttl: ' || description)
  ELSE lives_ok(format('SELECT psycache_tap.psycache_put(%L, %L, %s)', 'ttl:' || description, '1', ttl_sql),
                'put takes a ttl: ' || description) END
FROM ttls ORDER BY description;
SELECT is((SELECT value FROM psycache_get('ttl:' || description)) IS NOT NULL, outcome = 'live',
          'after the put, the entry is ' || CASE outcome WHEN 'live' THEN 'live' ELSE 'a miss' END
          || ': ' || description)
FROM ttls WHERE outcome IN ('live', 'expired') ORDER BY description;

SELECT is((SELECT value FROM psycache_get('kept')), '{"kept": true}'::jsonb,
          'after all of it, the first entry is intact');

-- Schema names with dots, spaces and SQL are identifiers, never code. PostgreSQL itself refuses
-- quotes, $, backslashes, "--" and comments in the schema of an extension like psycache.
CREATE TABLE public.psycache_tap_sentinel (survived boolean);
INSERT INTO public.psycache_tap_sentinel VALUES (true);
DROP EXTENSION psycache;
CREATE SCHEMA "a.b; DROP TABLE public.psycache_tap_sentinel; SELECT 1";
SELECT lives_ok($$CREATE EXTENSION psycache SCHEMA "a.b; DROP TABLE public.psycache_tap_sentinel; SELECT 1"$$,
                'psycache installs into a schema named with a dot, a semicolon and SQL');
SELECT is("a.b; DROP TABLE public.psycache_tap_sentinel; SELECT 1".psycache_put('k', '"v"', interval '1 hour'),
          10, 'put works there');
SELECT is((SELECT value FROM "a.b; DROP TABLE public.psycache_tap_sentinel; SELECT 1".psycache_get('k')),
          '"v"'::jsonb, 'get works there');
SELECT is((SELECT entries FROM "a.b; DROP TABLE public.psycache_tap_sentinel; SELECT 1".psycache_stats()),
          1::bigint, 'stats work there');
SELECT is("a.b; DROP TABLE public.psycache_tap_sentinel; SELECT 1".psycache_cleanup(), 0::bigint,
          'cleanup works there');
SELECT is("a.b; DROP TABLE public.psycache_tap_sentinel; SELECT 1".psycache_flush(), 1::bigint,
          'flush works there');
SELECT is((SELECT survived FROM public.psycache_tap_sentinel), true, 'and the SQL in its name never ran');
DROP EXTENSION psycache;
CREATE SCHEMA "quo""te";
SELECT throws_ok($$CREATE EXTENSION psycache SCHEMA "quo""te"$$, '22P02',
                 'invalid character in extension "psycache" schema: must not contain any of ""$''\"',
                 'PostgreSQL refuses a schema name with a quote');
CREATE SCHEMA "x--y";
SELECT throws_ok($$CREATE EXTENSION psycache SCHEMA "x--y"$$, '22P02', NULL,
                 'PostgreSQL refuses a schema name with a comment');

SELECT * FROM finish();
ROLLBACK;
