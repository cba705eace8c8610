-- put reports the value's size before TOAST compression, get its size as stored.
CREATE EXTENSION IF NOT EXISTS psycache;
-- a small value is stored as it is: both sizes agree
SELECT psycache_put('small', '{"name": "Ada", "score": 97}', interval '1 hour') AS put_size;
SELECT size AS get_size FROM psycache_get('small');
-- a large, compressible value is compressed on the way to disk: get reports less
SELECT psycache_put('large', (SELECT jsonb_agg(i % 10) FROM generate_series(1, 100000) AS i),
                    interval '1 hour') AS put_size;
SELECT size AS get_size FROM psycache_get('large');
DROP EXTENSION psycache;
