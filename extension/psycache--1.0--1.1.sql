-- psycache 1.0 -> 1.1: batches in one call; add, touch, ttl, incr; several caches in one database.
--
-- As in 1.0, every name is schema-qualified and each function is callable only by the extension's
-- owner until it grants more. The functions are not STRICT: a NULL argument gets an error
-- (22004), not a NULL result.

\echo Use "ALTER EXTENSION psycache UPDATE TO '1.1'" to load this file. \quit

-- For each element of keys, in their order, one row: the key, its value and stored size in bytes
-- (pg_column_size), or a NULL value and size when the key is missing or expired. A key given twice
-- gives two rows.
CREATE FUNCTION @extschema@.psycache_get_many(keys text[])
RETURNS TABLE (key text, value jsonb, size integer)
AS 'MODULE_PATHNAME', 'psycache_get_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

-- Stores values[i] under keys[i] until statement_timestamp() + ttl (an upsert each), in one
-- statement; returns the stored size of each value, in the order of keys. The rows are locked in
-- the byte order of the keys, so concurrent batches cannot deadlock. A key given twice is stored
-- once, with its last value.
CREATE FUNCTION @extschema@.psycache_put_many(keys text[], "values" jsonb[], ttl interval)
RETURNS integer[]
AS 'MODULE_PATHNAME', 'psycache_put_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Removes keys; returns how many live entries were removed (expired ones are deleted too).
CREATE FUNCTION @extschema@.psycache_remove_many(keys text[])
RETURNS bigint
AS 'MODULE_PATHNAME', 'psycache_remove_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Stores value under key until statement_timestamp() + ttl only if the key is missing or expired;
-- returns whether it stored. Of concurrent adds of one key, exactly one stores.
CREATE FUNCTION @extschema@.psycache_add(key text, value jsonb, ttl interval)
RETURNS boolean
AS 'MODULE_PATHNAME', 'psycache_add'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Makes a live key expire at statement_timestamp() + ttl, keeping its value; returns whether the
-- key was live.
CREATE FUNCTION @extschema@.psycache_touch(key text, ttl interval)
RETURNS boolean
AS 'MODULE_PATHNAME', 'psycache_touch'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The time a key has left (its expiry minus statement_timestamp()), or NULL when it is missing or
-- expired.
CREATE FUNCTION @extschema@.psycache_ttl(key text)
RETURNS interval
AS 'MODULE_PATHNAME', 'psycache_ttl'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Adds delta to the JSON integer stored under key and returns the result, atomically. A missing
-- or expired key starts at delta and expires after ttl; a live key keeps its expiry. A value that
-- is not a JSON integer is refused (22023), and so is a sum beyond bigint (22003).
CREATE FUNCTION @extschema@.psycache_incr(key text, delta bigint, ttl interval)
RETURNS bigint
AS 'MODULE_PATHNAME', 'psycache_incr'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION
    @extschema@.psycache_get_many(text[]),
    @extschema@.psycache_put_many(text[], jsonb[], interval),
    @extschema@.psycache_remove_many(text[]),
    @extschema@.psycache_add(text, jsonb, interval),
    @extschema@.psycache_touch(text, interval),
    @extschema@.psycache_ttl(text),
    @extschema@.psycache_incr(text, bigint, interval)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.psycache_get_many(text[]),
    @extschema@.psycache_put_many(text[], jsonb[], interval),
    @extschema@.psycache_remove_many(text[]),
    @extschema@.psycache_add(text, jsonb, interval),
    @extschema@.psycache_touch(text, interval),
    @extschema@.psycache_ttl(text),
    @extschema@.psycache_incr(text, bigint, interval)
TO @extowner@;

-- ==== several caches in one database ==========================================================
--
-- A cache is a schema holding the table psycache and the C cache functions of this module
-- (psycache_get, psycache_put, ...). The extension's own schema is the first one; every other is
-- made by psycache_create_cache(schema). Their functions point at the same C symbols, which find
-- the table in the schema of the function being called, so a client that calls S.psycache_get
-- works on any of them unchanged.
--
-- The catalog is the register: a cache is found by its pg_proc and pg_class rows, so renaming its
-- schema, pg_dump and restore, and DROP SCHEMA ... CASCADE need nothing else kept in step.
-- The caches made by psycache_create_cache are ordinary objects of their schemas, owned by the
-- role named as their owner, not members of the extension: DROP EXTENSION psycache leaves them
-- (they work on while the library is installed; the worker cleans them), and pg_dump dumps them.

-- Every cache in this database: its schema, and whether it is the extension's own.
CREATE FUNCTION @extschema@.psycache_caches(OUT schema_name name, OUT extension_schema boolean)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT n.nspname, n.oid OPERATOR(pg_catalog.=) e.extnamespace
  FROM pg_catalog.pg_proc AS p
  JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
  JOIN pg_catalog.pg_class AS c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid
   AND c.relname OPERATOR(pg_catalog.=) 'psycache' AND c.relkind OPERATOR(pg_catalog.=) 'r'
  CROSS JOIN pg_catalog.pg_extension AS e
  WHERE e.extname OPERATOR(pg_catalog.=) 'psycache'
    AND p.proname OPERATOR(pg_catalog.=) 'psycache_cleanup'
    AND p.prosrc OPERATOR(pg_catalog.=) 'psycache_cleanup'
    AND p.probin OPERATOR(pg_catalog.=) 'MODULE_PATHNAME'
  ORDER BY n.oid OPERATOR(pg_catalog.<>) e.extnamespace, n.nspname
$$;

-- Makes schema_name a cache, owned by owner (the calling role by default): creates what it lacks
-- of the table psycache, its index and the cache functions. Running it again is harmless, and
-- completes a cache whose functions were not restored (C functions need a superuser to restore).
-- A table psycache already there (one that the Python psycache or a portable install created) is
-- kept with its entries, if it has the three columns.
--
-- SECURITY DEFINER, owned by the superuser that ran the extension's script: only a superuser may
-- create C functions. It acts only for an owner that the session's user may become (as CREATE
-- SCHEMA ... AUTHORIZATION demands), in a schema where that owner may create objects. Called from
-- an extension script, what it creates would become a member of the extension: do not.
CREATE FUNCTION @extschema@.psycache_create_cache(schema_name name,
                                                  owner regrole DEFAULT CURRENT_USER::regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cache_schema oid;
  extension_schema oid;
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
  SELECT e.extnamespace INTO extension_schema FROM pg_extension AS e WHERE e.extname = 'psycache';
  IF cache_schema = extension_schema THEN
    RETURN;  -- the extension's own cache, complete by construction
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

  -- The functions: a copy of each C function of the extension's schema, but for the two that
  -- act on the whole database. A function added to the extension later is copied as well.
  FOR f IN
    SELECT p.oid, p.proname, p.prosrc, p.proisstrict, p.provolatile, p.proparallel, p.procost,
           p.proretset, p.prorows
    FROM pg_proc AS p
    WHERE p.pronamespace = extension_schema AND p.prolang = (SELECT l.oid FROM pg_language AS l WHERE l.lanname = 'c')
      AND p.probin = 'MODULE_PATHNAME'
      AND p.proname NOT IN ('psycache_schedule_cleanup', 'psycache_unschedule_cleanup')
    ORDER BY p.oid
  LOOP
    SELECT q.oid INTO existing FROM pg_proc AS q
    WHERE q.pronamespace = cache_schema AND q.proname = f.proname
      AND pg_get_function_identity_arguments(q.oid) = pg_get_function_identity_arguments(f.oid);
    IF existing IS NULL THEN
      EXECUTE format('CREATE FUNCTION %I.%I(%s) RETURNS %s AS %L, %L LANGUAGE c %s %s PARALLEL %s'
                     ' COST %s%s',
                     schema_name, f.proname, pg_get_function_arguments(f.oid),
                     pg_get_function_result(f.oid), 'MODULE_PATHNAME', f.prosrc,
                     CASE f.provolatile WHEN 'i' THEN 'IMMUTABLE' WHEN 's' THEN 'STABLE'
                       ELSE 'VOLATILE' END,
                     CASE WHEN f.proisstrict THEN 'STRICT' ELSE 'CALLED ON NULL INPUT' END,
                     CASE f.proparallel WHEN 's' THEN 'SAFE' WHEN 'r' THEN 'RESTRICTED'
                       ELSE 'UNSAFE' END,
                     f.procost, CASE WHEN f.proretset THEN ' ROWS ' || f.prorows ELSE '' END);
      EXECUTE format('REVOKE ALL ON FUNCTION %I.%I(%s) FROM PUBLIC', schema_name, f.proname,
                     pg_get_function_identity_arguments(f.oid));
      EXECUTE format('ALTER FUNCTION %I.%I(%s) OWNER TO %I', schema_name, f.proname,
                     pg_get_function_identity_arguments(f.oid), owner::name);
    END IF;
  END LOOP;
END
$$;

-- Drops the cache in schema_name: its table, with every entry, and its functions; returns whether
-- there was one. With the rights of the caller, who must own them. The extension's own cache goes
-- with DROP EXTENSION only.
CREATE FUNCTION @extschema@.psycache_drop_cache(schema_name name)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f record;
  found boolean := false;
BEGIN
  IF schema_name IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
      MESSAGE = 'psycache schema must not be null';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_extension AS e JOIN pg_namespace AS n ON n.oid = e.extnamespace
             WHERE e.extname = 'psycache' AND n.nspname = schema_name) THEN
    RAISE EXCEPTION USING ERRCODE = 'object_in_use',
      MESSAGE = format('schema %I holds the psycache extension''s own cache', schema_name),
      HINT = 'Drop it with DROP EXTENSION psycache.';
  END IF;
  FOR f IN
    SELECT p.oid FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname = schema_name AND p.probin = 'MODULE_PATHNAME'
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
$$;

-- Deletes the expired entries of every cache in this database that the calling role may clean up
-- (EXECUTE on its psycache_cleanup, SELECT, UPDATE and DELETE on its table), skipping the others;
-- returns how many it deleted. The pg_cron job of psycache_schedule_cleanup calls it.
CREATE FUNCTION @extschema@.psycache_cleanup_all(batch_size integer DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cache record;
  deleted bigint := 0;
  total bigint := 0;
BEGIN
  FOR cache IN SELECT c.schema_name FROM @extschema@.psycache_caches() AS c LOOP
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
$$;

REVOKE ALL ON FUNCTION
    @extschema@.psycache_caches(),
    @extschema@.psycache_create_cache(name, regrole),
    @extschema@.psycache_drop_cache(name),
    @extschema@.psycache_cleanup_all(integer)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.psycache_caches(),
    @extschema@.psycache_create_cache(name, regrole),
    @extschema@.psycache_drop_cache(name),
    @extschema@.psycache_cleanup_all(integer)
TO @extowner@;

-- ==== end of several caches in one database ===================================================
