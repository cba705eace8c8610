-- psycache 1.0: the cache table and the functions every client calls.
--
-- Every name is schema-qualified (even operators, inside the C++ code) so that
-- nothing here resolves through the caller's search_path.

\echo Use "CREATE EXTENSION psycache" to load this file. \quit

-- The very layout the Python psycache creates, so both can share one table.
-- UNLOGGED: a cache needs no WAL; the table is emptied by crash recovery.
-- Autovacuum comes once 2% of the rows (plus 1000) are dead, not 20%: measured,
-- it bounds the dead rows of a lightly written cache to about a third, at no
-- cost to a busy one (see README, "Table upkeep"). The default fillfactor stays:
-- every put changes the indexed expires_at, so no update is HOT and free room
-- in a page buys nothing.
CREATE UNLOGGED TABLE @extschema@.psycache (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    expires_at timestamptz NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
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

-- Deletes the expired entries, batch_size rows per statement, skipping rows
-- that a writer has locked; returns how many.
CREATE FUNCTION @extschema@.psycache_cleanup(batch_size integer DEFAULT 10000)
RETURNS bigint
AS 'MODULE_PATHNAME', 'psycache_cleanup'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Deletes every entry; returns how many.
CREATE FUNCTION @extschema@.psycache_flush()
RETURNS bigint
AS 'MODULE_PATHNAME', 'psycache_flush'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- A summary of the cache table: all entries, the expired ones not yet deleted,
-- the size on disk; then the background worker's last pass in this database
-- (NULLs when it has not run here since the server started).
CREATE FUNCTION @extschema@.psycache_stats(
    OUT entries bigint, OUT expired_entries bigint, OUT total_bytes bigint,
    OUT worker_last_run timestamptz, OUT worker_last_deleted bigint,
    OUT worker_last_duration interval, OUT worker_last_error text)
RETURNS record
AS 'MODULE_PATHNAME', 'psycache_stats'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Schedules psycache_cleanup() with pg_cron, as the calling role, in this
-- database, under the job name psycache_cleanup@<database> (scheduling again
-- changes the schedule); returns the pg_cron job id.
CREATE FUNCTION @extschema@.psycache_schedule_cleanup(schedule text DEFAULT '* * * * *')
RETURNS bigint
AS 'MODULE_PATHNAME', 'psycache_schedule_cleanup'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Removes that pg_cron job; returns whether there was one.
CREATE FUNCTION @extschema@.psycache_unschedule_cleanup()
RETURNS boolean
AS 'MODULE_PATHNAME', 'psycache_unschedule_cleanup'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Only the role that created the extension may use the cache; it grants
-- others what they need (see README, "Privileges").
REVOKE ALL ON FUNCTION
    @extschema@.psycache_get(text),
    @extschema@.psycache_put(text, jsonb, interval),
    @extschema@.psycache_remove(text),
    @extschema@.psycache_cleanup(integer),
    @extschema@.psycache_flush(),
    @extschema@.psycache_stats(),
    @extschema@.psycache_schedule_cleanup(text),
    @extschema@.psycache_unschedule_cleanup()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.psycache_get(text),
    @extschema@.psycache_put(text, jsonb, interval),
    @extschema@.psycache_remove(text),
    @extschema@.psycache_cleanup(integer),
    @extschema@.psycache_flush(),
    @extschema@.psycache_stats(),
    @extschema@.psycache_schedule_cleanup(text),
    @extschema@.psycache_unschedule_cleanup()
TO @extowner@;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.psycache TO @extowner@;
