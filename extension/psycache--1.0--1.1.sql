-- psycache 1.1: batches in one call, and add, touch, ttl, incr.
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
