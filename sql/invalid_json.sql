-- A value that is not valid JSON fails at the cast, before psycache runs; nothing is lost.
CREATE EXTENSION IF NOT EXISTS psycache;
SELECT psycache_put('kept', '{"kept": true}', interval '1 hour');

SELECT psycache_put('kept', '{"unterminated": ', interval '1 hour');
SELECT psycache_put('kept', 'not json', interval '1 hour');
SELECT psycache_put('kept', '', interval '1 hour');
SELECT psycache_put('kept', '{"a": 1}}', interval '1 hour');
SELECT psycache_put('kept', '"\u0000"', interval '1 hour');
-- not a jsonb at all
SELECT psycache_put('kept', 42, interval '1 hour');
SELECT psycache_put('kept', '1', 'one hour');

SELECT * FROM psycache_get('kept');

DROP EXTENSION psycache;
