-- psycache, portable: the cache table and the cache functions of the psycache extension, written
-- in SQL and PL/pgSQL, for a server where the extension cannot be installed (most managed
-- PostgreSQL services). The same table, the same signatures, the same results and the same errors
-- (SQLSTATE and message), so every client works unchanged; the extension stays the fast path.
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
-- SELECT S.psycache_cleanup() yourself), and the worker columns of psycache_stats stay NULL.
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

-- ---- privileges ------------------------------------------------------------------------------
-- As with the extension: the role that ran the script owns the table and the functions and may
-- use the cache; nobody else can, until granted (see README, "Privileges").
REVOKE ALL ON FUNCTION
    @schema@.psycache_get(text),
    @schema@.psycache_put(text, jsonb, interval),
    @schema@.psycache_remove(text),
    @schema@.psycache_cleanup(integer),
    @schema@.psycache_flush(),
    @schema@.psycache_stats()
FROM PUBLIC;
