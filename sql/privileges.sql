-- Only the role that created the extension may use it; others get "permission denied".
CREATE EXTENSION IF NOT EXISTS psycache;
SELECT psycache_put('secret', '"s3cr3t"', interval '1 hour');
CREATE ROLE regress_psycache_nobody;

-- a role with no grant: every function and the table are refused
SET ROLE regress_psycache_nobody;
SELECT * FROM psycache_get('secret');
SELECT psycache_put('secret', '"stolen"', interval '1 hour');
SELECT psycache_remove('secret');
SELECT psycache_cleanup();
SELECT psycache_flush();
SELECT * FROM psycache_stats();
SELECT * FROM psycache;
RESET ROLE;

-- EXECUTE alone is not enough: the functions act on the table with the caller's rights
GRANT EXECUTE ON FUNCTION psycache_get(text), psycache_flush() TO regress_psycache_nobody;
SET ROLE regress_psycache_nobody;
SELECT * FROM psycache_get('secret');
SELECT psycache_flush();
RESET ROLE;

-- with SELECT on the table too, the role can read, and still not write
GRANT SELECT ON psycache TO regress_psycache_nobody;
SET ROLE regress_psycache_nobody;
SELECT * FROM psycache_get('secret');
SELECT psycache_put('secret', '"stolen"', interval '1 hour');
RESET ROLE;

-- the creating role still has everything
SELECT * FROM psycache_get('secret');
SELECT psycache_remove('secret');

DROP EXTENSION psycache;
DROP ROLE regress_psycache_nobody;
