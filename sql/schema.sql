-- CREATE EXTENSION psycache SCHEMA s: everything lives in s and works from any search_path.
CREATE SCHEMA cache;
CREATE EXTENSION psycache SCHEMA cache;
SELECT c.relname, c.relnamespace::regnamespace AS schema
FROM pg_class AS c WHERE c.relname IN ('psycache', 'ix_psycache_expires_at') ORDER BY 1;
SELECT p.proname, p.pronamespace::regnamespace AS schema
FROM pg_proc AS p WHERE p.proname LIKE 'psycache%' ORDER BY 1;

-- a search_path without the schema
SET search_path = public;
SELECT cache.psycache_put('k', '"in cache"', interval '1 hour');
SELECT * FROM cache.psycache_get('k');
SELECT entries FROM cache.psycache_stats();
-- an empty search_path
SET search_path = '';
SELECT cache.psycache_put('k2', '2', interval '-1 hour');
SELECT * FROM cache.psycache_get('k');
SELECT cache.psycache_cleanup();
SELECT cache.psycache_remove('k');
SELECT entries FROM cache.psycache_stats();
-- a table named psycache earlier in the search_path is ignored
CREATE TABLE public.psycache (key text, value jsonb, expires_at timestamptz);
INSERT INTO public.psycache VALUES ('k', '"decoy"', 'infinity');
SET search_path = public, cache;
SELECT cache.psycache_put('k', '"real"', interval '1 hour');
SELECT * FROM cache.psycache_get('k');
SELECT cache.psycache_flush();
SELECT count(*) AS decoys_left FROM public.psycache;
DROP TABLE public.psycache;
RESET search_path;

-- dropped and created again in another schema, whose name needs quoting, in the same session
DROP EXTENSION psycache;
CREATE SCHEMA "Other Cache";
CREATE EXTENSION psycache SCHEMA "Other Cache";
SELECT "Other Cache".psycache_put('k', '"other"', interval '1 hour');
SELECT * FROM "Other Cache".psycache_get('k');
SELECT entries FROM "Other Cache".psycache_stats();
-- and back in the first schema: a new, empty table
DROP EXTENSION psycache;
CREATE EXTENSION psycache SCHEMA cache;
SELECT * FROM cache.psycache_get('k');
SELECT cache.psycache_put('k', '"back"', interval '1 hour');
SELECT * FROM cache.psycache_get('k');
-- a renamed schema
ALTER SCHEMA cache RENAME TO renamed_cache;
SELECT * FROM renamed_cache.psycache_get('k');
SELECT renamed_cache.psycache_put('k', '"renamed"', interval '1 hour');
SELECT renamed_cache.psycache_remove('k');
SELECT entries FROM renamed_cache.psycache_stats();

DROP EXTENSION psycache;
DROP SCHEMA renamed_cache;
DROP SCHEMA "Other Cache";
