-- psycache_cleanup(batch_size): the expired entries go in batches; the total comes back.
CREATE EXTENSION IF NOT EXISTS psycache;
SELECT psycache_put('live:' || i, pg_catalog.to_jsonb(i), interval '1 hour') FROM generate_series(1, 3) AS i \g /dev/null
SELECT psycache_put('expired:' || i, pg_catalog.to_jsonb(i), interval '-1 hour') FROM generate_series(1, 10) AS i \g /dev/null
-- ten expired entries with the same expiry, and five with expiries of their own
INSERT INTO psycache SELECT 'older:' || i, '1', statement_timestamp() - i * interval '1 minute'
FROM generate_series(1, 5) AS i;

-- batches of 1, 4 and 15 delete them all, whatever the batch size and however the expiries tie
BEGIN;
SELECT psycache_cleanup(1);
ROLLBACK;
BEGIN;
SELECT psycache_cleanup(4);
ROLLBACK;
SELECT psycache_cleanup(15);
SELECT key FROM psycache ORDER BY key;
SELECT psycache_cleanup(1);

-- without an argument the batch size is 10000
SELECT psycache_put('expired:' || i, '1', interval '-1 second') FROM generate_series(1, 10001) AS i \g /dev/null
SELECT psycache_cleanup();
SELECT count(*) AS entries FROM psycache;

-- a batch size that is not a positive integer is refused, and nothing is deleted
SELECT psycache_put('expired', '1', interval '-1 hour');
SELECT psycache_cleanup(0);
SELECT psycache_cleanup(-5);
SELECT psycache_cleanup(NULL);
SELECT psycache_cleanup(2147483648);
SELECT psycache_cleanup('ten');
SELECT count(*) AS entries FROM psycache;
SELECT psycache_cleanup(2147483647);

-- outside a transaction block the batches run in a background worker with the caller's rights,
-- and its error comes back; inside one, they run in the caller's transaction
CREATE ROLE regress_psycache_cleaner;
GRANT EXECUTE ON FUNCTION psycache_cleanup(integer) TO regress_psycache_cleaner;
GRANT SELECT ON psycache TO regress_psycache_cleaner;
SELECT psycache_put('expired', '1', interval '-1 hour');
SET ROLE regress_psycache_cleaner;
SELECT psycache_cleanup();
BEGIN;
SELECT psycache_cleanup();
ROLLBACK;
RESET ROLE;
GRANT UPDATE, DELETE ON psycache TO regress_psycache_cleaner;
SET ROLE regress_psycache_cleaner;
SELECT psycache_cleanup();
RESET ROLE;
SELECT count(*) AS entries FROM psycache;
REVOKE ALL ON psycache FROM regress_psycache_cleaner;
REVOKE ALL ON FUNCTION psycache_cleanup(integer) FROM regress_psycache_cleaner;
DROP ROLE regress_psycache_cleaner;

DROP EXTENSION psycache;
