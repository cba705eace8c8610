-- psycache_add (put if absent), psycache_touch (a new ttl, same value), psycache_ttl (time left).
CREATE EXTENSION IF NOT EXISTS psycache;
\pset null '(null)'

-- add stores a missing key, and only once
SELECT psycache_add('lock', '{"owner": "a"}', interval '1 hour') AS stored;
SELECT psycache_add('lock', '{"owner": "b"}', interval '1 hour') AS stored;
SELECT * FROM psycache_get('lock');
-- an expired entry counts as absent: add replaces value and expiry
SELECT psycache_put('stale', '"old"', interval '-1 second');
SELECT psycache_add('stale', '"new"', interval '1 hour') AS stored;
SELECT * FROM psycache_get('stale');
SELECT expires_at > statement_timestamp() AS live FROM psycache WHERE key = 'stale';
-- its expiry is statement_timestamp() + ttl
SELECT psycache_add('exact', '1', interval '90 minutes') AS stored,
       (statement_timestamp() + interval '90 minutes')::text AS expected \gset
SELECT expires_at::text = :'expected' AS expiry_is_exact FROM psycache WHERE key = 'exact';
-- an add with a ttl that is not positive stores an entry that has already expired
SELECT psycache_add('born-expired', '1', interval '0') AS stored;
SELECT psycache_add('born-expired', '2', interval '1 hour') AS stored;
SELECT * FROM psycache_get('born-expired');

-- ttl: the time left, exactly expiry - statement_timestamp()
SELECT psycache_put('t', '"v"', interval '10 minutes');
SELECT psycache_ttl('t') = expires_at - statement_timestamp() AS exact FROM psycache WHERE key = 't';
SELECT psycache_ttl('t') BETWEEN interval '9 minutes' AND interval '10 minutes' AS about_ten_minutes;
-- a miss is NULL, for a missing or an expired key
SELECT psycache_ttl('missing');
SELECT psycache_ttl('born-expired') IS NOT NULL AS live_after_add;
SELECT psycache_put('expired', '1', interval '-1 minute');
SELECT psycache_ttl('expired');

-- touch sets a new expiry and keeps the value
SELECT psycache_touch('t', interval '2 days') AS touched;
SELECT psycache_ttl('t') BETWEEN interval '47 hours' AND interval '48 hours' AS two_days_left;
SELECT * FROM psycache_get('t');
-- it can shorten the ttl too, and expire the key at once
SELECT psycache_touch('t', interval '1 minute') AS touched,
       (statement_timestamp() + interval '1 minute')::text AS expected \gset
SELECT expires_at::text = :'expected' AS expiry_is_exact FROM psycache WHERE key = 't';
SELECT psycache_touch('t', interval '0') AS touched;
SELECT * FROM psycache_get('t');
-- a missing or expired key is not touched: false, and it stays a miss
SELECT psycache_touch('missing', interval '1 hour') AS touched;
SELECT psycache_touch('expired', interval '1 hour') AS touched;
SELECT * FROM psycache_get('expired');
SELECT count(*) AS missing_rows FROM psycache WHERE key = 'missing';

-- bad arguments: NULLs (22004), long keys (54000), ttls out of range (22008)
SELECT psycache_add(NULL, '1', interval '1 hour');
SELECT psycache_add('lock', NULL, interval '1 hour');
SELECT psycache_add('lock', '1', NULL);
SELECT psycache_add(repeat('k', 2049), '1', interval '1 hour');
SELECT psycache_add('lock', '1', interval '300000 years');
SELECT psycache_touch(NULL, interval '1 hour');
SELECT psycache_touch('lock', NULL);
SELECT psycache_touch(repeat('k', 2049), interval '1 hour');
SELECT psycache_touch('lock', interval '-300000 years');
SELECT psycache_ttl(NULL);
SELECT psycache_ttl(repeat('k', 2049));
-- nothing was lost
SELECT * FROM psycache_get('lock');
SELECT psycache_ttl('lock') > interval '59 minutes' AS lock_ttl_kept;

DROP EXTENSION psycache;
