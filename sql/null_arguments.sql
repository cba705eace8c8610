-- NULL arguments are refused, one error per argument, and nothing stored is lost.
CREATE EXTENSION IF NOT EXISTS psycache;
SELECT psycache_put('kept', '{"kept": true}', interval '1 hour');

SELECT psycache_get(NULL);
SELECT psycache_put(NULL, '1', interval '1 hour');
SELECT psycache_put('kept', NULL, interval '1 hour');
SELECT psycache_put('kept', '1', NULL);
SELECT psycache_put(NULL, NULL, NULL);
SELECT psycache_remove(NULL);

SELECT * FROM psycache_get('kept');
SELECT count(*) AS entries FROM psycache;

DROP EXTENSION psycache;
