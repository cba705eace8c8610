-- Each cache function called many times in one session, each call succeeding and committed on
-- its own as a client's call is, does not grow the backend's memory: neither its memory contexts
-- nor its private resident memory (malloc'd memory that no context accounts for, such as the C++
-- runtime's).
--
-- psql variable calls: how many calls per function (default 20,000, to keep `./run test` short;
-- `./run bench memory` runs 1,000,000). psycache_cleanup() starts a background worker per call
-- (tens of milliseconds each on a slow machine), so it gets at most cleanup_calls (default 2,000)
-- after 100 to warm up. A new function gets one row in the list below. psql variable only, when
-- set, is a regular expression: the rows whose name it does not match are left out.
--
-- Not in one transaction, since the calls commit: the schema is dropped at the end.
\if :{?calls}
\else
\set calls 20000
\endif
\if :{?cleanup_calls}
\else
\set cleanup_calls 2000
\endif
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS psycache_tap_memory CASCADE;
RESET client_min_messages;
CREATE SCHEMA psycache_tap_memory;
CREATE EXTENSION psycache SCHEMA psycache_tap_memory;
SET search_path = psycache_tap_memory, public;

-- The functions measured, in order: a name, then one call as PL/pgSQL runs it, with the loop
-- counter i (the keys cycle through 1,000, so the table stays small).
CREATE TEMP TABLE memory_calls (ord int PRIMARY KEY, name text NOT NULL, call text NOT NULL,
                                warmup int NOT NULL DEFAULT 1000, calls int NOT NULL DEFAULT :calls);
INSERT INTO memory_calls VALUES
  (1, 'psycache_put', $$PERFORM psycache_put('k' || i % 1000, '{"a": [1, 2, 3]}', interval '1 hour')$$),
  (2, 'psycache_get, hit', $$PERFORM * FROM psycache_get('k' || i % 1000)$$),
  (3, 'psycache_get, miss', $$PERFORM * FROM psycache_get('missing' || i % 1000)$$),
  (4, 'psycache_get in a target list', $$PERFORM psycache_get('k' || i % 1000)$$),
  (5, 'psycache_remove, miss', $$PERFORM psycache_remove('missing' || i % 1000)$$),
  (6, 'psycache_put and psycache_remove',
      $$PERFORM psycache_put('r' || i % 10, '1', interval '1 hour'), psycache_remove('r' || i % 10)$$),
  (7, 'psycache_cleanup', $$PERFORM psycache_cleanup()$$),
  (8, 'psycache_stats', $$PERFORM * FROM psycache_stats()$$),
  (9, 'psycache_flush', $$PERFORM psycache_flush()$$);

UPDATE memory_calls SET warmup = 100, calls = least(calls, :cleanup_calls)
WHERE name = 'psycache_cleanup';

\if :{?only}
DELETE FROM memory_calls WHERE name !~ :'only';
\endif
SELECT plan(2 * (SELECT count(*)::int FROM memory_calls));

CREATE FUNCTION pg_temp.context_bytes() RETURNS bigint LANGUAGE sql
  AS 'SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts';
CREATE FUNCTION pg_temp.rss_anon_bytes() RETURNS bigint LANGUAGE sql AS $$
  SELECT 1024 * (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                              'RssAnon:\s+(\d+) kB'))[1]::bigint
$$;

-- One looping procedure per row: calls n times, each call in its own transaction.
SELECT format($f$CREATE PROCEDURE memory_call_%s(n int) LANGUAGE plpgsql AS
              $b$BEGIN FOR i IN 1..n LOOP %s; COMMIT; END LOOP; END$b$$f$, ord, call)
FROM memory_calls ORDER BY ord \gexec

-- Per function: warm up (1,000 calls), measure, call, measure.
CREATE TEMP TABLE memory (ord int PRIMARY KEY, context_before bigint, rss_before bigint,
                          context_after bigint, rss_after bigint);
-- (\gexec runs each column as a statement of its own: a CALL that commits must be alone.)
SELECT format('CALL memory_call_%s(%s)', ord, warmup),
       format('INSERT INTO memory (ord, context_before, rss_before)
               VALUES (%s, pg_temp.context_bytes(), pg_temp.rss_anon_bytes())', ord),
       format('CALL memory_call_%s(%s)', ord, calls),
       format('UPDATE memory SET context_after = pg_temp.context_bytes(),
                                 rss_after = pg_temp.rss_anon_bytes() WHERE ord = %s', ord)
FROM memory_calls ORDER BY ord \gexec

SELECT diag(format('%s over %s calls: memory contexts %s -> %s bytes, private resident memory '
                   '%s -> %s bytes', c.name, c.calls, m.context_before, m.context_after,
                   m.rss_before, m.rss_after))
FROM memory_calls AS c JOIN memory AS m USING (ord) ORDER BY ord;
SELECT cmp_ok(m.context_after - m.context_before, '<', 1024 * 1024::bigint,
              format('%s: memory contexts grow by less than 1 MB', c.name))
FROM memory_calls AS c JOIN memory AS m USING (ord) ORDER BY ord;
SELECT cmp_ok(m.rss_after - m.rss_before, '<', 1024 * 1024::bigint,
              format('%s: private resident memory grows by less than 1 MB', c.name))
FROM memory_calls AS c JOIN memory AS m USING (ord) ORDER BY ord;

SELECT * FROM finish();
SET client_min_messages = warning;
DROP SCHEMA psycache_tap_memory CASCADE;
