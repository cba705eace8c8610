-- psycache_put computes the size it reports instead of asking the SQL for it: the same size as
-- INSERT ... ON CONFLICT ... RETURNING pg_column_size(value) gives on a table like the cache
-- table, for every form a value can take, on insert and on update.
CREATE EXTENSION IF NOT EXISTS psycache;
CREATE TABLE reference_table (LIKE psycache INCLUDING ALL);
CREATE FUNCTION reference_put(k text, v jsonb) RETURNS integer LANGUAGE sql AS $$
  INSERT INTO reference_table AS c (key, value, expires_at)
  VALUES (k, v, statement_timestamp() + interval '1 hour')
  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
  RETURNING pg_column_size(c.value)
$$;
CREATE TABLE sources (name text, value jsonb);
INSERT INTO sources
SELECT 'string of ' || n, to_jsonb(repeat('x', n)) FROM generate_series(0, 140) AS n;
INSERT INTO sources VALUES
  ('object', '{"name": "Ada", "score": 97}'),
  ('null', 'null'),
  ('compressible', (SELECT jsonb_agg(i % 10) FROM generate_series(1, 1500) AS i)),
  ('large compressible', (SELECT jsonb_agg(i % 10) FROM generate_series(1, 100000) AS i)),
  ('incompressible', (SELECT jsonb_agg(md5(i::text)) FROM generate_series(1, 2000) AS i));
-- Each value as a literal (a full header), then as read from a table (short headers, compressed
-- inline, TOAST pointers): written twice, an insert, then an update of the same key.
CREATE FUNCTION sizes_agree() RETURNS TABLE (form text, checked bigint, agree bigint)
LANGUAGE sql AS $$
  SELECT 'literal, insert', count(*),
         count(*) FILTER (WHERE psycache_put('1:' || name, value::text::jsonb, interval '1 hour')
                                = reference_put('1:' || name, value::text::jsonb))
  FROM sources
  UNION ALL
  SELECT 'literal, update', count(*),
         count(*) FILTER (WHERE psycache_put('1:' || name, value::text::jsonb, interval '1 hour')
                                = reference_put('1:' || name, value::text::jsonb))
  FROM sources
  UNION ALL
  SELECT 'from a table, insert', count(*),
         count(*) FILTER (WHERE psycache_put('2:' || name, value, interval '1 hour')
                                = reference_put('2:' || name, value))
  FROM sources
  UNION ALL
  SELECT 'from a table, update', count(*),
         count(*) FILTER (WHERE psycache_put('2:' || name, value, interval '1 hour')
                                = reference_put('2:' || name, value))
  FROM sources
  UNION ALL
  SELECT 'from the cache table', count(*),
         count(*) FILTER (WHERE psycache_put('3:' || key, value, interval '1 hour')
                                = reference_put('3:' || key, value))
  FROM psycache WHERE key LIKE '1:%'
$$;
SELECT * FROM sizes_agree();
-- either side of the one-byte header's limit; a large value before compression
SELECT name, psycache_put('edge', value, interval '1 hour') AS put,
       reference_put('edge', value) AS reference
FROM sources WHERE name IN ('string of 120', 'string of 121', 'string of 122', 'string of 123',
                            'large compressible')
ORDER BY name;
-- the column's storage changes nothing: a small value gets a one-byte header even with PLAIN
ALTER TABLE psycache ALTER COLUMN value SET STORAGE PLAIN;
ALTER TABLE reference_table ALTER COLUMN value SET STORAGE PLAIN;
SELECT psycache_put('plain', '"abc"', interval '1 hour') AS put,
       reference_put('plain', '"abc"') AS reference;
ALTER TABLE psycache ALTER COLUMN value SET STORAGE MAIN;
ALTER TABLE reference_table ALTER COLUMN value SET STORAGE MAIN;
SELECT * FROM sizes_agree();
ALTER TABLE psycache ALTER COLUMN value SET STORAGE EXTERNAL;
ALTER TABLE reference_table ALTER COLUMN value SET STORAGE EXTERNAL;
SELECT * FROM sizes_agree();
ALTER TABLE psycache ALTER COLUMN value SET STORAGE EXTENDED;
ALTER TABLE reference_table ALTER COLUMN value SET STORAGE EXTENDED;
-- a value column of another type: the SQL returns the size of the value as converted
ALTER TABLE psycache ALTER COLUMN value TYPE text;
ALTER TABLE reference_table ALTER COLUMN value TYPE text;
SELECT count(*) AS checked,
       count(*) FILTER (WHERE psycache_put('4:' || name, value, interval '1 hour')
                              = reference_put('4:' || name, value)) AS agree
FROM sources;
SELECT psycache_put('text', '{"a":   1}', interval '1 hour') AS put,
       reference_put('text', '{"a":   1}') AS reference;
DROP FUNCTION sizes_agree(), reference_put(text, jsonb);
DROP TABLE sources, reference_table;
DROP EXTENSION psycache;
