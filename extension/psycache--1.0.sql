-- psycache 1.0: the cache table and the functions every client calls.
--
-- Every name is schema-qualified (even operators, inside the C++ code) so that
-- nothing here resolves through the caller's search_path.

\echo Use "CREATE EXTENSION psycache" to load this file. \quit

-- The very layout the Python psycache creates, so both can share one table.
-- UNLOGGED: a cache needs no WAL; the table is emptied by crash recovery.
CREATE UNLOGGED TABLE @extschema@.psycache (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX ix_psycache_expires_at ON @extschema@.psycache (expires_at);

-- The value stored under key and its stored size in bytes (pg_column_size),
-- or NULLs when the key is missing or expired.
CREATE FUNCTION @extschema@.psycache_get(key text, OUT value jsonb, OUT size integer)
RETURNS record
AS 'MODULE_PATHNAME', 'psycache_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Stores value under key until statement_timestamp() + ttl (an upsert);
-- returns the stored size of value in bytes.
CREATE FUNCTION @extschema@.psycache_put(key text, value jsonb, ttl interval)
RETURNS integer
AS 'MODULE_PATHNAME', 'psycache_put'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Removes key; returns whether an entry was removed.
CREATE FUNCTION @extschema@.psycache_remove(key text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'psycache_remove'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Deletes the expired entries; returns how many.
CREATE FUNCTION @extschema@.psycache_cleanup()
RETURNS bigint
AS 'MODULE_PATHNAME', 'psycache_cleanup'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Deletes every entry; returns how many.
CREATE FUNCTION @extschema@.psycache_flush()
RETURNS bigint
AS 'MODULE_PATHNAME', 'psycache_flush'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- A summary of the cache table: live and expired entries, size on disk.
CREATE FUNCTION @extschema@.psycache_stats(
    OUT entries bigint, OUT expired_entries bigint, OUT total_bytes bigint)
RETURNS record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.count(*),
           pg_catalog.count(*) FILTER (
               WHERE c.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()),
           pg_catalog.pg_total_relation_size('@extschema@.psycache'::pg_catalog.regclass)
    FROM @extschema@.psycache AS c
$$;

-- Only the role that created the extension may use the cache; it grants
-- others what they need (see README, "Privileges").
REVOKE ALL ON FUNCTION
    @extschema@.psycache_get(text),
    @extschema@.psycache_put(text, jsonb, interval),
    @extschema@.psycache_remove(text),
    @extschema@.psycache_cleanup(),
    @extschema@.psycache_flush(),
    @extschema@.psycache_stats()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.psycache_get(text),
    @extschema@.psycache_put(text, jsonb, interval),
    @extschema@.psycache_remove(text),
    @extschema@.psycache_cleanup(),
    @extschema@.psycache_flush(),
    @extschema@.psycache_stats()
TO @extowner@;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.psycache TO @extowner@;
