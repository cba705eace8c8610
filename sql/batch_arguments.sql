-- Bad batches are refused as a whole, with an error that names the element, and nothing stored
-- is lost.
CREATE EXTENSION IF NOT EXISTS psycache;
SELECT psycache_put('kept', '{"kept": true}', interval '1 hour');

-- NULL arrays and NULL elements: 22004
SELECT * FROM psycache_get_many(NULL);
SELECT * FROM psycache_get_many(ARRAY['kept', NULL]);
SELECT psycache_put_many(NULL, ARRAY['1']::jsonb[], interval '1 hour');
SELECT psycache_put_many(ARRAY['kept'], NULL, interval '1 hour');
SELECT psycache_put_many(ARRAY['kept'], ARRAY['1']::jsonb[], NULL);
SELECT psycache_put_many(ARRAY['kept', NULL], ARRAY['1', '2']::jsonb[], interval '1 hour');
SELECT psycache_put_many(ARRAY['kept', 'k2'], ARRAY['1', NULL]::jsonb[], interval '1 hour');
SELECT psycache_remove_many(NULL);
SELECT psycache_remove_many(ARRAY[NULL, 'kept']);
-- keys and values of different lengths, arrays of two dimensions: 2202E
SELECT psycache_put_many(ARRAY['kept', 'k2'], ARRAY['1']::jsonb[], interval '1 hour');
SELECT psycache_put_many(ARRAY['kept'], ARRAY['1', '2']::jsonb[], interval '1 hour');
SELECT psycache_put_many('{}', ARRAY['1']::jsonb[], interval '1 hour');
SELECT * FROM psycache_get_many(ARRAY[['a', 'b'], ['c', 'd']]);
SELECT psycache_remove_many(ARRAY[['kept']]);
-- keys over 2048 bytes: 54000, naming the element
SELECT * FROM psycache_get_many(ARRAY['kept', repeat('k', 2049)]);
SELECT psycache_put_many(ARRAY['k2', repeat('€', 683)], ARRAY['1', '2']::jsonb[], interval '1 hour');
SELECT psycache_remove_many(ARRAY[repeat('k', 100000)]);
-- a ttl out of range: 22008
SELECT psycache_put_many(ARRAY['kept'], ARRAY['1']::jsonb[], interval '300000 years');
-- the first bad argument is the one reported
SELECT psycache_put_many(ARRAY[NULL], ARRAY['1', '2']::jsonb[], NULL);

SELECT * FROM psycache_get_many(ARRAY['kept', 'k2']);
SELECT count(*) AS entries FROM psycache;

DROP EXTENSION psycache;
