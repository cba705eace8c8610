-- A ttl whose expiry is outside timestamptz is refused; there is no infinite ttl.
CREATE EXTENSION IF NOT EXISTS psycache;
SELECT psycache_put('kept', '"kept"', interval '1 hour');

-- expiries beyond the range of timestamp with time zone
SELECT psycache_put('kept', '1', interval '300000 years');
SELECT psycache_put('kept', '1', interval '-300000 years');
SELECT psycache_put('kept', '1', interval '2147483647 days');
SELECT psycache_put('kept', '1', interval '-2147483647 months');
-- PostgreSQL 15 has no infinite interval: neither the literal nor a difference gives one
SELECT psycache_put('kept', '1', interval 'infinity');
SELECT psycache_put('kept', '1', 'infinity'::timestamptz - statement_timestamp());

-- long ttls that stay in range are fine
SELECT psycache_put('century', '1', interval '100 years');
SELECT psycache_put('long ago', '1', interval '-1000 years');
SELECT key, (SELECT value FROM psycache_get(key)) AS value FROM psycache ORDER BY key;

SELECT * FROM psycache_get('kept');

DROP EXTENSION psycache;
