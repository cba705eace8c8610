-- 100,000 failing calls of the 1.1 functions in one session do not grow the backend's memory:
-- their error paths (bad arrays and elements, incr's refusals after its write, an error inside
-- their SPI statements) give back what they took, as memory.sql checks for the 1.0 ones.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir install.psql
SET LOCAL search_path = psycache_tap, public;
SELECT plan(5);

-- So that writes fail inside psycache's own INSERT (an error raised in SPI and passed on); and
-- two counters that incr refuses (not an integer; at the top of bigint).
ALTER TABLE psycache ADD CONSTRAINT psycache_tap_refuse CHECK (key NOT LIKE 'refused%') NOT VALID;
INSERT INTO psycache VALUES ('text', '"7"', 'infinity'), ('max', '9223372036854775807', 'infinity');

-- Makes n calls that all fail, each caught in its own subtransaction, cycling through the error
-- paths: a NULL element, arrays of different lengths, a key too long, an error inside SPI, incr's
-- two refusals (raised after its write), a ttl out of range. Returns how many failed.
CREATE FUNCTION pg_temp.fail(n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  failed int := 0;
BEGIN
  FOR i IN 1..n LOOP
    BEGIN
      CASE i % 8
        WHEN 0 THEN PERFORM * FROM psycache_get_many(ARRAY['a', NULL]);
        WHEN 1 THEN PERFORM psycache_put_many(ARRAY['a', 'b'], ARRAY['1']::jsonb[], interval '1 hour');
        WHEN 2 THEN PERFORM psycache_remove_many(ARRAY[repeat('k', 2049)]);
        WHEN 3 THEN PERFORM psycache_put_many(ARRAY['refused' || i], ARRAY['{"a": [1, 2]}']::jsonb[],
                                              interval '1 hour');
        WHEN 4 THEN PERFORM psycache_incr('text', 1, interval '1 hour');
        WHEN 5 THEN PERFORM psycache_incr('max', 1, interval '1 hour');
        WHEN 6 THEN PERFORM psycache_add('refused' || i, '1', interval '1 hour');
        ELSE PERFORM psycache_touch('k', interval '300000 years');
      END CASE;
    EXCEPTION WHEN null_value_not_allowed OR program_limit_exceeded OR datetime_field_overflow
                   OR check_violation OR array_subscript_error OR invalid_parameter_value
                   OR numeric_value_out_of_range THEN
      failed := failed + 1;
    END;
  END LOOP;
  RETURN failed;
END $$;

-- All memory contexts of this backend, and its private resident memory (malloc'd memory that
-- no context accounts for, such as the C++ runtime's).
CREATE FUNCTION pg_temp.context_bytes() RETURNS bigint LANGUAGE sql
  AS 'SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts';
CREATE FUNCTION pg_temp.rss_anon_bytes() RETURNS bigint LANGUAGE sql AS $$
  SELECT 1024 * (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                              'RssAnon:\s+(\d+) kB'))[1]::bigint
$$;
CREATE TEMP TABLE memory (at text PRIMARY KEY, context_bytes bigint, rss_anon_bytes bigint);

-- Warm up: plans prepared, PL/pgSQL compiled, caches filled, the measuring statement run once.
SELECT is(pg_temp.fail(1000), 1000, 'warm-up: 1,000 calls fail');
INSERT INTO memory VALUES ('warm', pg_temp.context_bytes(), pg_temp.rss_anon_bytes());
INSERT INTO memory VALUES ('before', pg_temp.context_bytes(), pg_temp.rss_anon_bytes());
SELECT is(pg_temp.fail(100000), 100000, '100,000 calls fail, each with its error');
INSERT INTO memory VALUES ('after', pg_temp.context_bytes(), pg_temp.rss_anon_bytes());

SELECT diag(format('%s: memory contexts %s bytes, private resident memory %s bytes',
                   at, context_bytes, rss_anon_bytes))
FROM memory ORDER BY array_position(ARRAY['warm', 'before', 'after'], at);
SELECT diag(format('growth over 100,000 failing calls: memory contexts %s bytes, '
                   'private resident memory %s bytes',
                   a.context_bytes - b.context_bytes, a.rss_anon_bytes - b.rss_anon_bytes))
FROM memory AS a, memory AS b WHERE a.at = 'after' AND b.at = 'before';

SELECT cmp_ok((SELECT a.context_bytes - b.context_bytes FROM memory a, memory b
               WHERE a.at = 'after' AND b.at = 'before'),
              '<', 1024 * 1024::bigint, 'memory contexts grow by less than 1 MB');
SELECT cmp_ok((SELECT a.rss_anon_bytes - b.rss_anon_bytes FROM memory a, memory b
               WHERE a.at = 'after' AND b.at = 'before'),
              '<', 1024 * 1024::bigint, 'private resident memory grows by less than 1 MB');
SELECT is((SELECT array_agg(key || '=' || value::text ORDER BY key) FROM psycache),
          ARRAY['max=9223372036854775807', 'text="7"'], 'nothing was stored or changed');

SELECT * FROM finish();
ROLLBACK;
