-- Keys are limited to 2048 bytes (not characters), so that every key fits the btree index.
CREATE EXTENSION IF NOT EXISTS psycache;
SELECT psycache_put('kept', '"kept"', interval '1 hour');

-- the limit itself is fine, in every function
SELECT psycache_put(repeat('k', 2048), '"longest"', interval '1 hour');
SELECT value, size FROM psycache_get(repeat('k', 2048));
SELECT psycache_remove(repeat('k', 2048));
-- so is a random, incompressible key of that size
SELECT psycache_put(left(string_agg(md5(i::text), ''), 2048), '"random"', interval '1 hour')
FROM generate_series(1, 64) AS i;
-- one byte more is refused, in every function
SELECT psycache_put(repeat('k', 2049), '1', interval '1 hour');
SELECT psycache_get(repeat('k', 2049));
SELECT psycache_remove(repeat('k', 2049));
-- bytes count, not characters: 1000 three-byte characters are 3000 bytes
SELECT psycache_put(repeat('€', 1000), '1', interval '1 hour');
SELECT psycache_put(repeat('€', 682), '"682 euros"', interval '1 hour');
-- a key far beyond the btree limit, stored out of line
SELECT psycache_put(repeat('k', 1000000), '1', interval '1 hour');

SELECT * FROM psycache_get('kept');
SELECT count(*) AS entries FROM psycache;

DROP EXTENSION psycache;
