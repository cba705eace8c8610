-- psycache, portable: the cache table and the cache functions of the psycache extension, version
-- 1.1 (the six of 1.0, the seven of 1.1 and the four that manage several caches), written in SQL
-- and PL/pgSQL, for a server where the extension cannot be installed (most managed PostgreSQL
-- services). The same table, the same signatures, the same results and the same errors (SQLSTATE
-- and message), so every client works unchanged; the extension stays the fast path.
--
-- @schema@ stands for the cache's schema, a quoted identifier: psycache::init_db and
-- `psycache init-db --portable --schema S` put it in (the CLI prints the result). Running the
-- script again replaces the functions and keeps the table and its entries; it needs no superuser,
-- only CREATE on the schema. It has no transaction control of its own: init_db runs it in one.
--
-- Every name is schema-qualified, operators and types included, so that nothing resolves through
-- the caller's search_path. The schema's name is written into the functions: after renaming the
-- schema, run the script again.
--
-- Not here: the background worker and pg_cron scheduling (clean up from the client, or schedule
-- SELECT S.psycache_cleanup_all() yourself), and the worker columns of psycache_stats stay NULL.
-- Different: psycache_create_cache runs with the caller's rights (see its section).
--
-- Each function is one section below; a new cache function of the extension gets its twin as a
-- new section, and a line in the REVOKE at the end.

-- ---- not over the extension: a schema that holds its C functions is refused -----------------
DO $psycache$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_proc AS p
             JOIN pg_catalog.pg_language AS l ON l.oid OPERATOR(pg_catalog.=) p.prolang
             WHERE p.pronamespace OPERATOR(pg_catalog.=) '@schema@'::pg_catalog.regnamespace
               AND p.proname OPERATOR(pg_catalog.=) 'psycache_get'
               AND l.lanname OPERATOR(pg_catalog.<>) 'plpgsql') THEN
    RAISE EXCEPTION USING ERRCODE = '42723',
      MESSAGE = pg_catalog.format('schema %s holds the psycache extension''s cache functions',
                                  '@schema@'),
      HINT = 'The extension is the fast path: keep it there, or install the portable functions '
             'in another schema.';
  END IF;
END
$psycache$;

-- ---- the table (as psycache--1.0.sql creates it; one the Python psycache made is kept) -------
CREATE UNLOGGED TABLE IF NOT EXISTS @schema@.psycache (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    expires_at timestamptz NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
CREATE INDEX IF NOT EXISTS ix_psycache_expires_at ON @schema@.psycache (expires_at);

-- ---- psycache_get ----------------------------------------------------------------------------
-- The value stored under key and its stored size in bytes (pg_column_size), or NULLs when the key
-- is missing or expired.
CREATE OR REPLACE FUNCTION @schema@.psycache_get(key text, OUT value jsonb, OUT size integer)
RETURNS record
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $psycache$
#variable_conflict use_column
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache key must not be null';
  END IF;
  IF pg_catalog.octet_length($1) OPERATOR(pg_catalog.>) 2048 THEN
    RAISE EXCEPTION USING ERRCODE = '54000',
      MESSAGE = pg_catalog.format('psycache key is %s bytes long, over the limit of 2048 bytes',
                                  pg_catalog.octet_length($1)),
      DETAIL = 'Every key must fit the btree index of the cache table.',
      HINT = 'Use a shorter key, for example a hash of the long one.';
  END IF;
  SELECT c.value, pg_catalog.pg_column_size(c.value) INTO value, size
  FROM @schema@.psycache AS c
  WHERE c.key OPERATOR(pg_catalog.=) $1
    AND c.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp();
END
$psycache$;

-- ---- psycache_put ----------------------------------------------------------------------------
-- Stores value under key until statement_timestamp() + ttl (an upsert); returns the stored size
-- of value in bytes.
CREATE OR REPLACE FUNCTION @schema@.psycache_put(key text, value jsonb, ttl interval)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $psycache$
#variable_conflict use_column
DECLARE
  expires pg_catalog.timestamptz;
  stored pg_catalog.int4;
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache key must not be null';
  END IF;
  IF pg_catalog.octet_length($1) OPERATOR(pg_catalog.>) 2048 THEN
    RAISE EXCEPTION USING ERRCODE = '54000',
      MESSAGE = pg_catalog.format('psycache key is %s bytes long, over the limit of 2048 bytes',
                                  pg_catalog.octet_length($1)),
      DETAIL = 'Every key must fit the btree index of the cache table.',
      HINT = 'Use a shorter key, for example a hash of the long one.';
  END IF;
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache value must not be null',
      HINT = 'To store a JSON null, pass ''null''::jsonb.';
  END IF;
  IF $3 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache ttl must not be null',
      HINT = 'Every entry expires: pass an interval, for example ''1 hour''.';
  END IF;
  -- Under 1000 years, days and hours (each part of the interval), the sum cannot leave the range
  -- of timestamptz: no subtransaction is needed to catch its error.
  IF pg_catalog.abs(pg_catalog.date_part('year', $3)) OPERATOR(pg_catalog.<) 1000
     AND pg_catalog.abs(pg_catalog.date_part('day', $3)) OPERATOR(pg_catalog.<) 365000
     AND pg_catalog.abs(pg_catalog.date_part('hour', $3)) OPERATOR(pg_catalog.<) 8760000 THEN
    expires := pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) $3;
  ELSE
    BEGIN
      expires := pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) $3;
    EXCEPTION WHEN datetime_field_overflow THEN
      RAISE EXCEPTION USING ERRCODE = '22008', MESSAGE = 'psycache ttl is out of range',
        DETAIL = pg_catalog.format('The ttl ''%s'' puts the expiry, statement_timestamp() + ttl, '
                                   'outside the range of timestamp with time zone.', $3);
    END;
  END IF;
  INSERT INTO @schema@.psycache AS c (key, value, expires_at) VALUES ($1, $2, expires)
  ON CONFLICT ON CONSTRAINT psycache_pkey DO UPDATE
  SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
  RETURNING pg_catalog.pg_column_size(c.value) INTO stored;
  RETURN stored;
END
$psycache$;

-- ---- psycache_remove -------------------------------------------------------------------------
-- Removes key; returns whether a live entry was removed (an expired one is deleted as well).
CREATE OR REPLACE FUNCTION @schema@.psycache_remove(key text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $psycache$
#variable_conflict use_column
DECLARE
  live pg_catalog.bool;
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache key must not be null';
  END IF;
  IF pg_catalog.octet_length($1) OPERATOR(pg_catalog.>) 2048 THEN
    RAISE EXCEPTION USING ERRCODE = '54000',
      MESSAGE = pg_catalog.format('psycache key is %s bytes long, over the limit of 2048 bytes',
                                  pg_catalog.octet_length($1)),
      DETAIL = 'Every key must fit the btree index of the cache table.',
      HINT = 'Use a shorter key, for example a hash of the long one.';
  END IF;
  DELETE FROM @schema@.psycache AS c WHERE c.key OPERATOR(pg_catalog.=) $1
  RETURNING c.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp() INTO live;
  RETURN live IS TRUE;
END
$psycache$;

-- ---- psycache_cleanup ------------------------------------------------------------------------
-- Deletes the expired entries, batch_size rows per statement, skipping rows that a writer has
-- locked; returns how many. The batch is the extension's (statements.cpp, CleanupBatchSql).
CREATE OR REPLACE FUNCTION @schema@.psycache_cleanup(batch_size integer DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $psycache$
#variable_conflict use_column
DECLARE
  total pg_catalog.int8 := 0;
  deleted pg_catalog.int8;
  resume_from pg_catalog.timestamptz := '-infinity';
  highest pg_catalog.timestamptz;
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache batch size must not be null',
      HINT = 'Pass how many rows to delete per batch, for example 10000, or call '
             'psycache_cleanup() without an argument.';
  END IF;
  IF $1 OPERATOR(pg_catalog.<) 1 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'psycache batch size must be at least 1',
      DETAIL = pg_catalog.format('The batch size is %s.', $1),
      HINT = 'Pass how many rows to delete per batch, for example 10000, or call '
             'psycache_cleanup() without an argument.';
  END IF;
  LOOP
    WITH batch AS (
      SELECT e.ctid FROM @schema@.psycache AS e
      WHERE e.expires_at OPERATOR(pg_catalog.>=) resume_from
        AND e.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
      ORDER BY e.expires_at LIMIT $1 FOR UPDATE OF e SKIP LOCKED),
    gone AS (
      DELETE FROM @schema@.psycache AS c
      WHERE c.ctid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT b.ctid FROM batch AS b))
        AND c.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
      RETURNING c.expires_at)
    SELECT pg_catalog.count(*), pg_catalog.max(g.expires_at) INTO deleted, highest FROM gone AS g;
    total := total OPERATOR(pg_catalog.+) deleted;
    EXIT WHEN deleted OPERATOR(pg_catalog.<) $1;
    resume_from := highest;  -- the next batch resumes at the highest expiry deleted
  END LOOP;
  RETURN total;
END
$psycache$;

-- ---- psycache_flush --------------------------------------------------------------------------
-- Deletes every entry; returns how many.
CREATE OR REPLACE FUNCTION @schema@.psycache_flush()
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $psycache$
DECLARE
  deleted pg_catalog.int8;
BEGIN
  DELETE FROM @schema@.psycache;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  RETURN deleted;
END
$psycache$;

-- ---- psycache_stats --------------------------------------------------------------------------
-- A summary of the cache table: all entries, the expired ones not yet deleted, the size on disk.
-- There is no background worker: its four columns are NULL.
CREATE OR REPLACE FUNCTION @schema@.psycache_stats(
    OUT entries bigint, OUT expired_entries bigint, OUT total_bytes bigint,
    OUT worker_last_run timestamptz, OUT worker_last_deleted bigint,
    OUT worker_last_duration interval, OUT worker_last_error text)
RETURNS record
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $psycache$
#variable_conflict use_column
BEGIN
  SELECT pg_catalog.count(*),
         pg_catalog.count(*) FILTER (
           WHERE c.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()),
         pg_catalog.pg_total_relation_size('@schema@.psycache'::pg_catalog.regclass)
  INTO entries, expired_entries, total_bytes
  FROM @schema@.psycache AS c;
END
$psycache$;

-- ==== version 1.1: batches in one call; add, touch, ttl, incr ==================================
--
-- The twins of psycache--1.0--1.1.sql's functions: each runs the statement of the extension's C++
-- (extension/statements_1_1.cpp) after the same argument checks (extension/arguments.cpp,
-- batch_arguments.cpp), so results, row locks and errors are the same.

-- ---- psycache_get_many -----------------------------------------------------------------------
-- For each element of keys, in their order, one row: the key, its value and stored size in bytes
-- (pg_column_size), or a NULL value and size when the key is missing or expired. A key given twice
-- gives two rows.
CREATE OR REPLACE FUNCTION @schema@.psycache_get_many(keys text[])
RETURNS TABLE (key text, value jsonb, size integer)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE ROWS 100
AS $psycache$
#variable_conflict use_column
DECLARE
  bad pg_catalog.int8;
  bad_bytes pg_catalog.int4;
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache keys must not be null',
      HINT = 'Pass an array of keys, e.g. ARRAY[''a'', ''b'']; it may be empty.';
  END IF;
  IF pg_catalog.array_ndims($1) OPERATOR(pg_catalog.>) 1 THEN
    RAISE EXCEPTION USING ERRCODE = '2202E',
      MESSAGE = 'psycache keys must be a one-dimensional array',
      DETAIL = pg_catalog.format('The array has %s dimensions.', pg_catalog.array_ndims($1));
  END IF;
  SELECT k.n, pg_catalog.octet_length(k.key) INTO bad, bad_bytes
  FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(key, n)
  WHERE k.key IS NULL OR pg_catalog.octet_length(k.key) OPERATOR(pg_catalog.>) 2048
  ORDER BY k.n LIMIT 1;
  IF bad IS NOT NULL THEN
    IF bad_bytes IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache key must not be null',
        DETAIL = pg_catalog.format('Element %s of keys is null.', bad);
    END IF;
    RAISE EXCEPTION USING ERRCODE = '54000',
      MESSAGE = pg_catalog.format('psycache key is %s bytes long, over the limit of 2048 bytes',
                                  bad_bytes),
      DETAIL = pg_catalog.format('Element %s of keys is too long. Every key must fit the btree '
                                 'index of the cache table.', bad),
      HINT = 'Use a shorter key, for example a hash of the long one.';
  END IF;
  RETURN QUERY
  SELECT k.key, c.value, pg_catalog.pg_column_size(c.value)
  FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(key, n)
  LEFT JOIN @schema@.psycache AS c ON c.key OPERATOR(pg_catalog.=) k.key
   AND c.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp()
  ORDER BY k.n;
END
$psycache$;

-- ---- psycache_put_many -----------------------------------------------------------------------
-- Stores values[i] under keys[i] until statement_timestamp() + ttl (an upsert each), in one
-- statement; returns the stored size of each value, in the order of keys. The rows are locked in
-- the byte order of the keys, so concurrent batches cannot deadlock. A key given twice is stored
-- once, with its last value.
CREATE OR REPLACE FUNCTION @schema@.psycache_put_many(keys text[], "values" jsonb[], ttl interval)
RETURNS integer[]
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $psycache$
#variable_conflict use_column
DECLARE
  bad pg_catalog.int8;
  bad_bytes pg_catalog.int4;
  expires pg_catalog.timestamptz;
  sizes pg_catalog.int4[];
BEGIN
  -- keys, as psycache_get_many checks them
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache keys must not be null',
      HINT = 'Pass an array of keys, e.g. ARRAY[''a'', ''b'']; it may be empty.';
  END IF;
  IF pg_catalog.array_ndims($1) OPERATOR(pg_catalog.>) 1 THEN
    RAISE EXCEPTION USING ERRCODE = '2202E',
      MESSAGE = 'psycache keys must be a one-dimensional array',
      DETAIL = pg_catalog.format('The array has %s dimensions.', pg_catalog.array_ndims($1));
  END IF;
  SELECT k.n, pg_catalog.octet_length(k.key) INTO bad, bad_bytes
  FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(key, n)
  WHERE k.key IS NULL OR pg_catalog.octet_length(k.key) OPERATOR(pg_catalog.>) 2048
  ORDER BY k.n LIMIT 1;
  IF bad IS NOT NULL THEN
    IF bad_bytes IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache key must not be null',
        DETAIL = pg_catalog.format('Element %s of keys is null.', bad);
    END IF;
    RAISE EXCEPTION USING ERRCODE = '54000',
      MESSAGE = pg_catalog.format('psycache key is %s bytes long, over the limit of 2048 bytes',
                                  bad_bytes),
      DETAIL = pg_catalog.format('Element %s of keys is too long. Every key must fit the btree '
                                 'index of the cache table.', bad),
      HINT = 'Use a shorter key, for example a hash of the long one.';
  END IF;
  -- values: one per key, none NULL
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache values must not be null',
      HINT = 'To store a JSON null, pass ''null''::jsonb.';
  END IF;
  IF pg_catalog.array_ndims($2) OPERATOR(pg_catalog.>) 1 THEN
    RAISE EXCEPTION USING ERRCODE = '2202E',
      MESSAGE = 'psycache values must be a one-dimensional array',
      DETAIL = pg_catalog.format('The array has %s dimensions.', pg_catalog.array_ndims($2));
  END IF;
  IF pg_catalog.cardinality($2) OPERATOR(pg_catalog.<>) pg_catalog.cardinality($1) THEN
    RAISE EXCEPTION USING ERRCODE = '2202E',
      MESSAGE = 'psycache keys and values must have the same length',
      DETAIL = pg_catalog.format('There are %s keys and %s values.', pg_catalog.cardinality($1),
                                 pg_catalog.cardinality($2)),
      HINT = 'Pass one value per key, in the same order.';
  END IF;
  SELECT v.n INTO bad FROM pg_catalog.unnest($2) WITH ORDINALITY AS v(value, n)
  WHERE v.value IS NULL ORDER BY v.n LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache value must not be null',
      DETAIL = pg_catalog.format('Element %s of values is null.', bad),
      HINT = 'To store a JSON null, pass ''null''::jsonb.';
  END IF;
  -- ttl, as psycache_put checks it
  IF $3 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache ttl must not be null',
      HINT = 'Every entry expires: pass an interval, for example ''1 hour''.';
  END IF;
  IF pg_catalog.abs(pg_catalog.date_part('year', $3)) OPERATOR(pg_catalog.<) 1000
     AND pg_catalog.abs(pg_catalog.date_part('day', $3)) OPERATOR(pg_catalog.<) 365000
     AND pg_catalog.abs(pg_catalog.date_part('hour', $3)) OPERATOR(pg_catalog.<) 8760000 THEN
    expires := pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) $3;
  ELSE
    BEGIN
      expires := pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) $3;
    EXCEPTION WHEN datetime_field_overflow THEN
      RAISE EXCEPTION USING ERRCODE = '22008', MESSAGE = 'psycache ttl is out of range',
        DETAIL = pg_catalog.format('The ttl ''%s'' puts the expiry, statement_timestamp() + ttl, '
                                   'outside the range of timestamp with time zone.', $3);
    END;
  END IF;
  IF pg_catalog.cardinality($1) OPERATOR(pg_catalog.=) 0 THEN
    RETURN '{}';
  END IF;
  -- One row per distinct key, sorted by its bytes: the INSERT locks the rows in that order.
  WITH stored AS (
    INSERT INTO @schema@.psycache AS c (key, value, expires_at)
    SELECT DISTINCT ON (u.key COLLATE pg_catalog."C") u.key, u.value, expires
    FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) WITH ORDINALITY AS u(key, value, n)
    ORDER BY u.key COLLATE pg_catalog."C", u.n DESC
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
    RETURNING c.key, pg_catalog.pg_column_size(c.value) AS size)
  SELECT pg_catalog.array_agg(s.size ORDER BY k.n) INTO sizes
  FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(key, n)
  JOIN stored AS s ON s.key OPERATOR(pg_catalog.=) k.key;
  IF sizes IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'XX000',
      MESSAGE = pg_catalog.format('psycache_put_many stored no sizes for %s keys',
                                  pg_catalog.cardinality($1));
  END IF;
  RETURN sizes;
END
$psycache$;

-- ---- psycache_remove_many --------------------------------------------------------------------
-- Removes keys; returns how many live entries were removed (expired ones are deleted too; a key
-- given twice counts once). The rows are locked in the byte order of the keys, then deleted.
CREATE OR REPLACE FUNCTION @schema@.psycache_remove_many(keys text[])
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $psycache$
#variable_conflict use_column
DECLARE
  bad pg_catalog.int8;
  bad_bytes pg_catalog.int4;
  removed pg_catalog.int8;
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache keys must not be null',
      HINT = 'Pass an array of keys, e.g. ARRAY[''a'', ''b'']; it may be empty.';
  END IF;
  IF pg_catalog.array_ndims($1) OPERATOR(pg_catalog.>) 1 THEN
    RAISE EXCEPTION USING ERRCODE = '2202E',
      MESSAGE = 'psycache keys must be a one-dimensional array',
      DETAIL = pg_catalog.format('The array has %s dimensions.', pg_catalog.array_ndims($1));
  END IF;
  SELECT k.n, pg_catalog.octet_length(k.key) INTO bad, bad_bytes
  FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(key, n)
  WHERE k.key IS NULL OR pg_catalog.octet_length(k.key) OPERATOR(pg_catalog.>) 2048
  ORDER BY k.n LIMIT 1;
  IF bad IS NOT NULL THEN
    IF bad_bytes IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache key must not be null',
        DETAIL = pg_catalog.format('Element %s of keys is null.', bad);
    END IF;
    RAISE EXCEPTION USING ERRCODE = '54000',
      MESSAGE = pg_catalog.format('psycache key is %s bytes long, over the limit of 2048 bytes',
                                  bad_bytes),
      DETAIL = pg_catalog.format('Element %s of keys is too long. Every key must fit the btree '
                                 'index of the cache table.', bad),
      HINT = 'Use a shorter key, for example a hash of the long one.';
  END IF;
  IF pg_catalog.cardinality($1) OPERATOR(pg_catalog.=) 0 THEN
    RETURN 0;
  END IF;
  WITH doomed AS (
    SELECT c.ctid FROM @schema@.psycache AS c
    WHERE c.key OPERATOR(pg_catalog.=) ANY ($1)
    ORDER BY c.key COLLATE pg_catalog."C" FOR UPDATE OF c),
  gone AS (
    DELETE FROM @schema@.psycache AS c
    WHERE c.ctid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT d.ctid FROM doomed AS d))
    RETURNING c.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp() AS live)
  SELECT pg_catalog.count(*) FILTER (WHERE g.live) INTO removed FROM gone AS g;
  RETURN removed;
END
$psycache$;

-- ---- psycache_add ----------------------------------------------------------------------------
-- Stores value under key until statement_timestamp() + ttl only if the key is missing or expired;
-- returns whether it stored. Of concurrent adds of one key, exactly one stores: ON CONFLICT waits
-- for the other transaction, then sees its live row.
CREATE OR REPLACE FUNCTION @schema@.psycache_add(key text, value jsonb, ttl interval)
RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $psycache$
#variable_conflict use_column
DECLARE
  expires pg_catalog.timestamptz;
  stored pg_catalog.int8;
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache key must not be null';
  END IF;
  IF pg_catalog.octet_length($1) OPERATOR(pg_catalog.>) 2048 THEN
    RAISE EXCEPTION USING ERRCODE = '54000',
      MESSAGE = pg_catalog.format('psycache key is %s bytes long, over the limit of 2048 bytes',
                                  pg_catalog.octet_length($1)),
      DETAIL = 'Every key must fit the btree index of the cache table.',
      HINT = 'Use a shorter key, for example a hash of the long one.';
  END IF;
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache value must not be null',
      HINT = 'To store a JSON null, pass ''null''::jsonb.';
  END IF;
  IF $3 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache ttl must not be null',
      HINT = 'Every entry expires: pass an interval, for example ''1 hour''.';
  END IF;
  IF pg_catalog.abs(pg_catalog.date_part('year', $3)) OPERATOR(pg_catalog.<) 1000
     AND pg_catalog.abs(pg_catalog.date_part('day', $3)) OPERATOR(pg_catalog.<) 365000
     AND pg_catalog.abs(pg_catalog.date_part('hour', $3)) OPERATOR(pg_catalog.<) 8760000 THEN
    expires := pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) $3;
  ELSE
    BEGIN
      expires := pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) $3;
    EXCEPTION WHEN datetime_field_overflow THEN
      RAISE EXCEPTION USING ERRCODE = '22008', MESSAGE = 'psycache ttl is out of range',
        DETAIL = pg_catalog.format('The ttl ''%s'' puts the expiry, statement_timestamp() + ttl, '
                                   'outside the range of timestamp with time zone.', $3);
    END;
  END IF;
  -- An expired entry is replaced as if it were absent.
  INSERT INTO @schema@.psycache AS c (key, value, expires_at) VALUES ($1, $2, expires)
  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
  WHERE c.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp();
  GET DIAGNOSTICS stored = ROW_COUNT;
  RETURN stored OPERATOR(pg_catalog.=) 1;
END
$psycache$;

-- ---- psycache_touch --------------------------------------------------------------------------
-- Makes a live key expire at statement_timestamp() + ttl, keeping its value; returns whether the
-- key was live.
CREATE OR REPLACE FUNCTION @schema@.psycache_touch(key text, ttl interval)
RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $psycache$
#variable_conflict use_column
DECLARE
  expires pg_catalog.timestamptz;
  touched pg_catalog.int8;
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache key must not be null';
  END IF;
  IF pg_catalog.octet_length($1) OPERATOR(pg_catalog.>) 2048 THEN
    RAISE EXCEPTION USING ERRCODE = '54000',
      MESSAGE = pg_catalog.format('psycache key is %s bytes long, over the limit of 2048 bytes',
                                  pg_catalog.octet_length($1)),
      DETAIL = 'Every key must fit the btree index of the cache table.',
      HINT = 'Use a shorter key, for example a hash of the long one.';
  END IF;
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache ttl must not be null',
      HINT = 'Every entry expires: pass an interval, for example ''1 hour''.';
  END IF;
  IF pg_catalog.abs(pg_catalog.date_part('year', $2)) OPERATOR(pg_catalog.<) 1000
     AND pg_catalog.abs(pg_catalog.date_part('day', $2)) OPERATOR(pg_catalog.<) 365000
     AND pg_catalog.abs(pg_catalog.date_part('hour', $2)) OPERATOR(pg_catalog.<) 8760000 THEN
    expires := pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) $2;
  ELSE
    BEGIN
      expires := pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) $2;
    EXCEPTION WHEN datetime_field_overflow THEN
      RAISE EXCEPTION USING ERRCODE = '22008', MESSAGE = 'psycache ttl is out of range',
        DETAIL = pg_catalog.format('The ttl ''%s'' puts the expiry, statement_timestamp() + ttl, '
                                   'outside the range of timestamp with time zone.', $2);
    END;
  END IF;
  UPDATE @schema@.psycache AS c SET expires_at = expires
  WHERE c.key OPERATOR(pg_catalog.=) $1
    AND c.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp();
  GET DIAGNOSTICS touched = ROW_COUNT;
  RETURN touched OPERATOR(pg_catalog.>) 0;
END
$psycache$;

-- ---- psycache_ttl ----------------------------------------------------------------------------
-- The time a key has left (its expiry minus statement_timestamp()), or NULL when it is missing or
-- expired.
CREATE OR REPLACE FUNCTION @schema@.psycache_ttl(key text)
RETURNS interval
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $psycache$
#variable_conflict use_column
DECLARE
  remaining pg_catalog.interval;
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache key must not be null';
  END IF;
  IF pg_catalog.octet_length($1) OPERATOR(pg_catalog.>) 2048 THEN
    RAISE EXCEPTION USING ERRCODE = '54000',
      MESSAGE = pg_catalog.format('psycache key is %s bytes long, over the limit of 2048 bytes',
                                  pg_catalog.octet_length($1)),
      DETAIL = 'Every key must fit the btree index of the cache table.',
      HINT = 'Use a shorter key, for example a hash of the long one.';
  END IF;
  SELECT c.expires_at OPERATOR(pg_catalog.-) pg_catalog.statement_timestamp() INTO remaining
  FROM @schema@.psycache AS c
  WHERE c.key OPERATOR(pg_catalog.=) $1
    AND c.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp();
  RETURN remaining;
END
$psycache$;

-- ---- psycache_incr ---------------------------------------------------------------------------
-- Adds delta to the JSON integer stored under key and returns the result, atomically. A missing
-- or expired key starts at delta and expires after ttl; a live key keeps its expiry. A value that
-- is not a JSON integer is refused (22023), and so is a sum beyond bigint (22003): a refused incr
-- writes nothing.
CREATE OR REPLACE FUNCTION @schema@.psycache_incr(key text, delta bigint, ttl interval)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $psycache$
#variable_conflict use_column
DECLARE
  expires pg_catalog.timestamptz;
  counted pg_catalog.int8;
  json_type pg_catalog.text;
  total pg_catalog.numeric;
  shown pg_catalog.int4;
  quoted pg_catalog.text;
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache key must not be null';
  END IF;
  IF pg_catalog.octet_length($1) OPERATOR(pg_catalog.>) 2048 THEN
    RAISE EXCEPTION USING ERRCODE = '54000',
      MESSAGE = pg_catalog.format('psycache key is %s bytes long, over the limit of 2048 bytes',
                                  pg_catalog.octet_length($1)),
      DETAIL = 'Every key must fit the btree index of the cache table.',
      HINT = 'Use a shorter key, for example a hash of the long one.';
  END IF;
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache delta must not be null',
      HINT = 'Pass how much to add, for example 1, or a negative number to subtract.';
  END IF;
  IF $3 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'psycache ttl must not be null',
      HINT = 'Every entry expires: pass an interval, for example ''1 hour''.';
  END IF;
  IF pg_catalog.abs(pg_catalog.date_part('year', $3)) OPERATOR(pg_catalog.<) 1000
     AND pg_catalog.abs(pg_catalog.date_part('day', $3)) OPERATOR(pg_catalog.<) 365000
     AND pg_catalog.abs(pg_catalog.date_part('hour', $3)) OPERATOR(pg_catalog.<) 8760000 THEN
    expires := pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) $3;
  ELSE
    BEGIN
      expires := pg_catalog.statement_timestamp() OPERATOR(pg_catalog.+) $3;
    EXCEPTION WHEN datetime_field_overflow THEN
      RAISE EXCEPTION USING ERRCODE = '22008', MESSAGE = 'psycache ttl is out of range',
        DETAIL = pg_catalog.format('The ttl ''%s'' puts the expiry, statement_timestamp() + ttl, '
                                   'outside the range of timestamp with time zone.', $3);
    END;
  END IF;
  -- A missing or expired key is stored as delta; a live one gets delta added and keeps its
  -- expiry, only when its value is a JSON integer and the sum fits in a bigint (CASE, not AND:
  -- the casts must only see numbers). One row: the new counter; or, when refused, NULL and what
  -- the value is: its JSON type, and for an integer the sum. No row when the key changed between
  -- the two (the SELECT's snapshot is older than the row ON CONFLICT saw).
  WITH counted AS (
    INSERT INTO @schema@.psycache AS c (key, value, expires_at)
    VALUES ($1, pg_catalog.to_jsonb($2), expires)
    ON CONFLICT (key) DO UPDATE SET
      value = CASE WHEN c.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
                   THEN EXCLUDED.value
                   ELSE pg_catalog.to_jsonb(CAST(c.value AS pg_catalog.numeric)
                          OPERATOR(pg_catalog.+) CAST($2 AS pg_catalog.numeric)) END,
      expires_at = CASE WHEN c.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
                        THEN EXCLUDED.expires_at ELSE c.expires_at END
    WHERE CASE
      WHEN c.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp() THEN true
      WHEN pg_catalog.jsonb_typeof(c.value) OPERATOR(pg_catalog.=) 'number' THEN
        pg_catalog.scale(CAST(c.value AS pg_catalog.numeric)) OPERATOR(pg_catalog.=) 0
        AND CAST(c.value AS pg_catalog.numeric) OPERATOR(pg_catalog.+) CAST($2 AS pg_catalog.numeric)
            OPERATOR(pg_catalog.>=) '-9223372036854775808'::pg_catalog.numeric
        AND CAST(c.value AS pg_catalog.numeric) OPERATOR(pg_catalog.+) CAST($2 AS pg_catalog.numeric)
            OPERATOR(pg_catalog.<=) '9223372036854775807'::pg_catalog.numeric
      ELSE false END
    RETURNING CAST(c.value AS pg_catalog.int8) AS counter)
  SELECT r.counter, r.json_type, r.total INTO counted, json_type, total FROM (
    SELECT k.counter, NULL::pg_catalog.text AS json_type, NULL::pg_catalog.numeric AS total
    FROM counted AS k
    UNION ALL
    SELECT NULL, pg_catalog.jsonb_typeof(c.value),
           CASE WHEN pg_catalog.jsonb_typeof(c.value) OPERATOR(pg_catalog.=) 'number'
                 AND pg_catalog.scale(CAST(c.value AS pg_catalog.numeric)) OPERATOR(pg_catalog.=) 0
                THEN CAST(c.value AS pg_catalog.numeric)
                     OPERATOR(pg_catalog.+) CAST($2 AS pg_catalog.numeric) END
    FROM @schema@.psycache AS c
    WHERE c.key OPERATOR(pg_catalog.=) $1
      AND c.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp()
      AND NOT EXISTS (SELECT FROM counted)) AS r;
  IF counted IS NOT NULL THEN
    RETURN counted;
  END IF;
  -- The key in double quotes for a message, cut to 64 bytes on a character boundary.
  shown := LEAST(pg_catalog.char_length($1), 64);
  WHILE pg_catalog.octet_length(pg_catalog.left($1, shown)) OPERATOR(pg_catalog.>) 64 LOOP
    shown := shown OPERATOR(pg_catalog.-) 1;
  END LOOP;
  quoted := pg_catalog.format('"%s"%s', pg_catalog.left($1, shown),
                              CASE WHEN shown OPERATOR(pg_catalog.<) pg_catalog.char_length($1)
                                   THEN '...' ELSE '' END);
  IF json_type IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '40001',
      MESSAGE = pg_catalog.format('psycache counter under key %s changed while psycache_incr ran',
                                  quoted),
      DETAIL = 'Another transaction changed the key at the same time.', HINT = 'Try again.';
  END IF;
  IF json_type OPERATOR(pg_catalog.<>) 'number' THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = pg_catalog.format('psycache value under key %s is not a JSON integer', quoted),
      DETAIL = pg_catalog.format('It is a JSON %s.', json_type),
      HINT = 'psycache_incr counts in a JSON integer, such as 42; remove the key or put an '
             'integer there first.';
  END IF;
  IF total IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = pg_catalog.format('psycache value under key %s is not a JSON integer', quoted),
      DETAIL = 'It is a number with digits after the decimal point.',
      HINT = 'psycache_incr counts in a JSON integer, such as 42; remove the key or put an '
             'integer there first.';
  END IF;
  RAISE EXCEPTION USING ERRCODE = '22003',
    MESSAGE = pg_catalog.format('psycache counter under key %s is out of range', quoted),
    DETAIL = pg_catalog.format('The sum %s does not fit in a bigint.', total);
END
$psycache$;

-- ==== version 1.1: several caches in one database ==============================================
--
-- A portable cache is a schema holding the table psycache and the PL/pgSQL cache functions of
-- this script. This script's schema is the first one; psycache_create_cache(schema) makes more, by
-- copying the cache functions of this schema with the schema's name replaced. The catalog is the
-- register, as with the extension: a cache is found by its pg_proc and pg_class rows.
--
-- The one difference from the extension: psycache_create_cache runs with the caller's rights
-- (SECURITY INVOKER). The extension's is SECURITY DEFINER only because C functions need a
-- superuser; PL/pgSQL functions do not, so the caller needs CREATE on the schema itself.

-- ---- psycache_caches -------------------------------------------------------------------------
-- Every portable cache in this database: its schema, and whether it is this script's own.
CREATE OR REPLACE FUNCTION @schema@.psycache_caches(OUT schema_name name,
                                                    OUT extension_schema boolean)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL SAFE
AS $psycache$
  SELECT n.nspname, n.oid OPERATOR(pg_catalog.=) '@schema@'::pg_catalog.regnamespace
  FROM pg_catalog.pg_proc AS p
  JOIN pg_catalog.pg_language AS l ON l.oid OPERATOR(pg_catalog.=) p.prolang
   AND l.lanname OPERATOR(pg_catalog.=) 'plpgsql'
  JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
  JOIN pg_catalog.pg_class AS c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid
   AND c.relname OPERATOR(pg_catalog.=) 'psycache' AND c.relkind OPERATOR(pg_catalog.=) 'r'
  WHERE p.proname OPERATOR(pg_catalog.=) 'psycache_cleanup'
    AND p.proargtypes OPERATOR(pg_catalog.=) '23'::pg_catalog.oidvector
  ORDER BY n.oid OPERATOR(pg_catalog.<>) '@schema@'::pg_catalog.regnamespace, n.nspname
$psycache$;

-- ---- psycache_create_cache -------------------------------------------------------------------
-- Makes schema_name a cache, owned by owner (the calling role by default): creates what it lacks
-- of the table psycache, its index and the cache functions. Running it again is harmless, and
-- completes a cache that an older script made. A table psycache already there (one that the Python
-- psycache created) is kept with its entries, if it has the three columns. As for this script, the
-- schema's name may not hold ", $, ' or \.
CREATE OR REPLACE FUNCTION @schema@.psycache_create_cache(
    schema_name name, owner regrole DEFAULT CURRENT_USER::regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $psycache$
DECLARE
  -- How this script wrote its schema's name into the functions, and how the copies will.
  home constant text := '@schema@';
  target text;
  cache_schema oid;
  existing oid;
  f record;
BEGIN
  IF schema_name IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
      MESSAGE = 'psycache schema must not be null';
  END IF;
  IF owner IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
      MESSAGE = 'psycache owner must not be null';
  END IF;
  SELECT n.oid INTO cache_schema FROM pg_namespace AS n WHERE n.nspname = schema_name;
  IF cache_schema IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_schema_name',
      MESSAGE = format('schema "%s" does not exist', schema_name),
      HINT = format('Create it first: CREATE SCHEMA %I;', schema_name);
  END IF;
  IF cache_schema = home::regnamespace THEN
    RETURN;  -- this script's own cache, complete by construction
  END IF;
  IF NOT pg_has_role(session_user, owner, 'MEMBER') THEN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
      MESSAGE = format('permission denied to create a psycache cache owned by role %s', owner),
      DETAIL = format('Only a role that can SET ROLE %s may make it the owner of a cache.', owner);
  END IF;
  IF NOT has_schema_privilege(owner, cache_schema, 'CREATE') THEN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
      MESSAGE = format('permission denied for schema %s', schema_name),
      DETAIL = format('Role %s, which would own the cache, needs CREATE on schema %I.',
                      owner, schema_name);
  END IF;
  IF schema_name ~ '["$''\\]' THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_name',
      MESSAGE = format('invalid schema name %L for a portable cache', schema_name),
      DETAIL = 'A portable cache refuses the characters ", $, '' and \ in the name of its schema.';
  END IF;
  IF EXISTS (SELECT FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang
             WHERE p.pronamespace = cache_schema AND p.proname = 'psycache_get'
               AND l.lanname <> 'plpgsql') THEN
    RAISE EXCEPTION USING ERRCODE = '42723',
      MESSAGE = format('schema %s holds the psycache extension''s cache functions', schema_name),
      HINT = 'The extension is the fast path: keep it there, or make the portable cache in '
             'another schema.';
  END IF;
  target := '"' || replace(schema_name, '"', '""') || '"';

  -- The table: the layout and storage settings of the extension's own (see psycache--1.0.sql).
  SELECT c.oid INTO existing FROM pg_class AS c
  WHERE c.relnamespace = cache_schema AND c.relname = 'psycache';
  IF existing IS NULL THEN
    EXECUTE format('CREATE UNLOGGED TABLE %I.psycache (key text PRIMARY KEY, value jsonb NOT NULL,'
                   ' expires_at timestamptz NOT NULL) WITH (autovacuum_vacuum_scale_factor = 0.02,'
                   ' autovacuum_vacuum_threshold = 1000)', schema_name);
    EXECUTE format('CREATE INDEX ix_psycache_expires_at ON %I.psycache (expires_at)', schema_name);
    EXECUTE format('ALTER TABLE %I.psycache OWNER TO %I', schema_name, owner::name);
  ELSIF (SELECT count(*) FROM pg_attribute AS a
         WHERE a.attrelid = existing AND NOT a.attisdropped AND a.attnum > 0
           AND (a.attname, a.atttypid) IN (('key', 'text'::regtype), ('value', 'jsonb'::regtype),
                                            ('expires_at', 'timestamptz'::regtype))) <> 3 THEN
    RAISE EXCEPTION USING ERRCODE = 'duplicate_table',
      MESSAGE = format('schema %I holds a table psycache that is not a cache table', schema_name),
      DETAIL = 'A cache table has the columns key text, value jsonb and expires_at timestamptz.';
  END IF;

  -- The functions: a copy of each cache function of this schema, its body passed as a literal
  -- with the schema's name replaced. A cache function added to the script later is copied too.
  FOR f IN
    SELECT p.oid, p.proname, p.prosrc, p.proisstrict, p.provolatile, p.proparallel, p.procost,
           p.proretset, p.prorows
    FROM pg_proc AS p
    WHERE p.pronamespace = home::regnamespace
      AND p.prolang = (SELECT l.oid FROM pg_language AS l WHERE l.lanname = 'plpgsql')
      AND p.proname LIKE 'psycache\_%'
      AND p.proname NOT IN ('psycache_create_cache', 'psycache_drop_cache', 'psycache_cleanup_all')
    ORDER BY p.oid
  LOOP
    SELECT q.oid INTO existing FROM pg_proc AS q
    WHERE q.pronamespace = cache_schema AND q.proname = f.proname
      AND pg_get_function_identity_arguments(q.oid) = pg_get_function_identity_arguments(f.oid);
    IF existing IS NULL THEN
      EXECUTE format('CREATE FUNCTION %I.%I(%s) RETURNS %s LANGUAGE plpgsql %s %s PARALLEL %s'
                     ' COST %s%s AS %L',
                     schema_name, f.proname, pg_get_function_arguments(f.oid),
                     pg_get_function_result(f.oid),
                     CASE f.provolatile WHEN 'i' THEN 'IMMUTABLE' WHEN 's' THEN 'STABLE'
                       ELSE 'VOLATILE' END,
                     CASE WHEN f.proisstrict THEN 'STRICT' ELSE 'CALLED ON NULL INPUT' END,
                     CASE f.proparallel WHEN 's' THEN 'SAFE' WHEN 'r' THEN 'RESTRICTED'
                       ELSE 'UNSAFE' END,
                     f.procost, CASE WHEN f.proretset THEN ' ROWS ' || f.prorows ELSE '' END,
                     replace(f.prosrc, home || '.', target || '.'));
      EXECUTE format('REVOKE ALL ON FUNCTION %I.%I(%s) FROM PUBLIC', schema_name, f.proname,
                     pg_get_function_identity_arguments(f.oid));
      EXECUTE format('ALTER FUNCTION %I.%I(%s) OWNER TO %I', schema_name, f.proname,
                     pg_get_function_identity_arguments(f.oid), owner::name);
    END IF;
  END LOOP;
END
$psycache$;

-- ---- psycache_drop_cache ---------------------------------------------------------------------
-- Drops the cache in schema_name: its table, with every entry, and its functions; returns whether
-- there was one. With the rights of the caller, who must own them. This script's own cache is not
-- dropped this way.
CREATE OR REPLACE FUNCTION @schema@.psycache_drop_cache(schema_name name)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $psycache$
DECLARE
  f record;
  found boolean := false;
BEGIN
  IF schema_name IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
      MESSAGE = 'psycache schema must not be null';
  END IF;
  IF schema_name = '@schema@'::regnamespace::name THEN
    RAISE EXCEPTION USING ERRCODE = 'object_in_use',
      MESSAGE = format('schema %I holds the psycache portable install''s own cache', schema_name),
      HINT = 'Drop its table and functions yourself, or the schema with DROP SCHEMA ... CASCADE.';
  END IF;
  -- The functions of this script, in PL/pgSQL or SQL: never an extension's (the psycache
  -- extension's are C, PL/pgSQL and SQL).
  FOR f IN
    SELECT p.oid FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname = schema_name
      AND p.prolang IN (SELECT l.oid FROM pg_language AS l WHERE l.lanname IN ('plpgsql', 'sql'))
      AND NOT EXISTS (SELECT FROM pg_depend AS d
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                        AND d.deptype = 'e')
      AND p.proname IN ('psycache_get', 'psycache_put', 'psycache_remove', 'psycache_cleanup',
                        'psycache_flush', 'psycache_stats', 'psycache_get_many',
                        'psycache_put_many', 'psycache_remove_many', 'psycache_add',
                        'psycache_touch', 'psycache_ttl', 'psycache_incr', 'psycache_caches',
                        'psycache_create_cache', 'psycache_drop_cache', 'psycache_cleanup_all')
  LOOP
    EXECUTE format('DROP FUNCTION %s', f.oid::regprocedure);
    found := true;
  END LOOP;
  IF found AND EXISTS (SELECT 1 FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                       WHERE n.nspname = schema_name AND c.relname = 'psycache') THEN
    EXECUTE format('DROP TABLE %I.psycache', schema_name);
  END IF;
  RETURN found;
END
$psycache$;

-- ---- psycache_cleanup_all --------------------------------------------------------------------
-- Deletes the expired entries of every portable cache in this database that the calling role may
-- clean up (EXECUTE on its psycache_cleanup, SELECT, UPDATE and DELETE on its table), skipping the
-- others; returns how many it deleted.
CREATE OR REPLACE FUNCTION @schema@.psycache_cleanup_all(batch_size integer DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $psycache$
DECLARE
  cache record;
  deleted bigint := 0;
  total bigint := 0;
BEGIN
  FOR cache IN SELECT c.schema_name FROM @schema@.psycache_caches() AS c LOOP
    CONTINUE WHEN NOT has_function_privilege(
                        format('%I.psycache_cleanup(integer)', cache.schema_name), 'EXECUTE')
               OR NOT has_table_privilege(format('%I.psycache', cache.schema_name),
                                          'SELECT, UPDATE, DELETE');
    EXECUTE format('SELECT %I.psycache_cleanup($1)', cache.schema_name) INTO deleted
      USING batch_size;
    total := total + deleted;
  END LOOP;
  RETURN total;
END
$psycache$;

-- ---- privileges ------------------------------------------------------------------------------
-- As with the extension: the role that ran the script owns the table and the functions and may
-- use the cache; nobody else can, until granted (see README, "Privileges").
REVOKE ALL ON FUNCTION
    @schema@.psycache_get(text),
    @schema@.psycache_put(text, jsonb, interval),
    @schema@.psycache_remove(text),
    @schema@.psycache_cleanup(integer),
    @schema@.psycache_flush(),
    @schema@.psycache_stats(),
    @schema@.psycache_get_many(text[]),
    @schema@.psycache_put_many(text[], jsonb[], interval),
    @schema@.psycache_remove_many(text[]),
    @schema@.psycache_add(text, jsonb, interval),
    @schema@.psycache_touch(text, interval),
    @schema@.psycache_ttl(text),
    @schema@.psycache_incr(text, bigint, interval),
    @schema@.psycache_caches(),
    @schema@.psycache_create_cache(name, regrole),
    @schema@.psycache_drop_cache(name),
    @schema@.psycache_cleanup_all(integer)
FROM PUBLIC;
