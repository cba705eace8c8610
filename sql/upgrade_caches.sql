-- psycache 1.0, as shipped, updated to 1.1: the cache keeps its entries and gains caches in other
-- schemas (1.0 has no psycache_create_cache). The 1.0 functions work with the new library.
CREATE EXTENSION psycache VERSION '1.0';
SELECT psycache_put('kept', '"from 1.0"', interval '1 hour');
CREATE SCHEMA second_cache;
SELECT psycache_create_cache('second_cache');
ALTER EXTENSION psycache UPDATE TO '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'psycache';
SELECT value FROM psycache_get('kept');
SELECT psycache_create_cache('second_cache');
SELECT second_cache.psycache_put('kept', '"second"', interval '1 hour');
SELECT value FROM second_cache.psycache_get('kept');
SELECT value FROM psycache_get('kept');
SELECT * FROM psycache_caches();
SELECT psycache_drop_cache('second_cache');
DROP SCHEMA second_cache;
DROP EXTENSION psycache;
