-- The settings of the cleanup worker: their defaults, their checks, the reserved prefix.
-- (LOAD: they exist wherever psycache is loaded, preloaded or not.)
LOAD 'psycache';
SELECT name, boot_val, unit, min_val, max_val, context
FROM pg_settings WHERE name LIKE 'psycache.%' ORDER BY name;

-- they change on reload, not per session
SET psycache.cleanup_interval = 1;
SET psycache.cleanup_batch_delay = 0;

-- bad values are refused (ALTER SYSTEM checks them before it writes anything)
ALTER SYSTEM SET psycache.cleanup_interval = -1;
ALTER SYSTEM SET psycache.cleanup_interval = '1 year';
ALTER SYSTEM SET psycache.cleanup_batch_size = 0;
ALTER SYSTEM SET psycache.cleanup_batch_delay = -1;
ALTER SYSTEM SET psycache.cleanup_batch_delay = '1 min';
ALTER SYSTEM SET psycache.cleanup_batch_delay = '1 ms per batch';
ALTER SYSTEM SET psycache.cleanup_databases = 'a,,b';
ALTER SYSTEM SET psycache.cleanup_databases = 'a, "b';
SELECT format('ALTER SYSTEM SET psycache.cleanup_databases = %L',
              string_agg('db' || i, ', ')) FROM generate_series(1, 65) AS i \gexec

-- the psycache. prefix is reserved: a misspelt setting is an error, not a silent placeholder
SET psycache.cleanup_intervall = 1;
ALTER SYSTEM SET psycache.cleanup_intervall = 1;
