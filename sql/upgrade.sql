-- Version 1.1 is 1.0 plus psycache--1.0--1.1.sql: a new install and an updated one are the same.
CREATE EXTENSION psycache;
SELECT extversion FROM pg_extension WHERE extname = 'psycache';
CREATE TEMP TABLE installed AS
SELECT p.oid::regprocedure::text AS function, pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result, p.prorows,
       p.proisstrict, p.provolatile, p.proparallel, p.proacl::text AS acl
FROM pg_proc AS p JOIN pg_depend AS d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension AS e ON e.oid = d.refobjid AND e.extname = 'psycache';
SELECT function, result FROM installed ORDER BY function;
DROP EXTENSION psycache;

-- 1.0, with an entry in the cache, updated in place
CREATE EXTENSION psycache VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'psycache';
SELECT psycache_put('survivor', '"from 1.0"', interval '1 hour');
ALTER EXTENSION psycache UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'psycache';
-- the same functions, results, attributes and privileges
SELECT i.function, u.function
FROM installed AS i FULL JOIN (
  SELECT p.oid::regprocedure::text AS function, pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result, p.prorows,
         p.proisstrict, p.provolatile, p.proparallel, p.proacl::text AS acl
  FROM pg_proc AS p JOIN pg_depend AS d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
  JOIN pg_extension AS e ON e.oid = d.refobjid AND e.extname = 'psycache') AS u
  USING (function, arguments, result, prorows, proisstrict, provolatile, proparallel, acl)
WHERE i.function IS NULL OR u.function IS NULL;
-- the entry is still there, and the new functions work on it
SELECT * FROM psycache_get_many(ARRAY['survivor']);
SELECT psycache_ttl('survivor') > interval '59 minutes' AS ttl_kept;
DROP EXTENSION psycache;
