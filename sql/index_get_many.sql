-- psycache_get_many reads the primary key index itself, key by key, without SQL: the same rows as
-- the SQL it replaces (which still runs when the table is not as the extension made it).
CREATE EXTENSION IF NOT EXISTS psycache;
\pset null '(null)'
-- The rows of get_many, in their order, and what the SQL of a LEFT JOIN finds for the same keys.
CREATE FUNCTION many(keys text[]) RETURNS jsonb LANGUAGE sql AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_array(g.key, g.value, g.size) ORDER BY g.n), '[]')
  FROM psycache_get_many(keys) WITH ORDINALITY AS g(key, value, size, n)
$$;
CREATE FUNCTION reference(keys text[]) RETURNS jsonb LANGUAGE sql AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_array(k.key, c.value, pg_column_size(c.value))
                            ORDER BY k.n), '[]')
  FROM unnest(keys) WITH ORDINALITY AS k(key, n)
  LEFT JOIN psycache AS c ON c.key = k.key AND c.expires_at > statement_timestamp()
$$;

SELECT psycache_put_many(ARRAY['a', 'b', 'json-null', 'expired', 'now'],
                         ARRAY['{"n": 1}', '"two"', 'null', '"old"', '0']::jsonb[],
                         interval '1 hour') AS sizes;
UPDATE psycache SET expires_at = statement_timestamp() - interval '1 second' WHERE key = 'expired';
SELECT psycache_put('now', '1', interval '0') AS put_now;
-- inline, compressed inline, out of line (compressed), out of line (incompressible)
SELECT psycache_put('compressed', (SELECT jsonb_agg(i % 10) FROM generate_series(1, 1500) AS i),
                    interval '1 hour') AS put_size;
SELECT psycache_put('toasted', (SELECT jsonb_agg(i % 10) FROM generate_series(1, 100000) AS i),
                    interval '1 hour') AS put_size;
SELECT psycache_put('incompressible',
                    (SELECT jsonb_agg(md5(i::text)) FROM generate_series(1, 2000) AS i),
                    interval '1 hour') AS put_size;

-- missing, expired (also exactly now), duplicates, JSON null, keys equal under no collation
SELECT * FROM psycache_get_many(ARRAY['b', 'missing', 'a', 'expired', 'now', 'a', 'json-null',
                                      'A', 'a ', 'b']);
SELECT key, jsonb_typeof(value) AS type, size FROM psycache_get_many(
    ARRAY['compressed', 'toasted', 'incompressible', 'toasted']);
-- values stored out of line come back whole
SELECT key, jsonb_array_length(value) AS elements, value->>99999 AS last
FROM psycache_get_many(ARRAY['toasted', 'toasted']);
CREATE TABLE batches (name text, keys text[]);
INSERT INTO batches VALUES
  ('mixed', ARRAY['b', 'missing', 'a', 'expired', 'now', 'a', 'json-null', 'A', 'a ', 'b']),
  ('large values', ARRAY['compressed', 'toasted', 'incompressible', 'toasted', 'compressed']),
  ('all misses', ARRAY['x', 'y', 'expired']),
  ('one key', ARRAY['a']),
  ('empty', '{}'),
  ('empty key', ARRAY['']),
  ('a thousand', ARRAY(SELECT (ARRAY['a', 'b', 'expired', 'compressed', 'nope'])[i % 5 + 1]
                       FROM generate_series(1, 1000) AS i));
-- the index path gives the SQL's rows
SELECT name, many(keys) = reference(keys) AS same_as_sql, jsonb_array_length(many(keys)) AS rows
FROM batches ORDER BY name;
-- an empty batch has no rows; a NULL element or array is refused, by position
SELECT * FROM psycache_get_many('{}');
SELECT * FROM psycache_get_many(ARRAY['a', NULL, 'b']);
SELECT * FROM psycache_get_many(NULL);
-- a key used twice in one call and as two arrays in one statement
SELECT (SELECT count(*) FROM psycache_get_many(ARRAY['a', 'a', 'a'])) AS rows,
       (SELECT count(*) FROM psycache_get_many(ARRAY['b'])) AS other_rows;

-- in a transaction, its own changes are seen, by a later statement and in the same statement
BEGIN;
SELECT psycache_put('tx', '"first"', interval '1 hour') AS put;
SELECT key, value FROM psycache_get_many(ARRAY['tx']);
UPDATE psycache SET value = '"updated"' WHERE key = 'tx';
SELECT key, value FROM psycache_get_many(ARRAY['tx', 'tx']);
SELECT psycache_put('tx', '"same statement"', interval '1 hour') AS put,
       (SELECT value FROM psycache_get_many(ARRAY['tx'])) AS got;
DELETE FROM psycache WHERE key = 'tx';
SELECT key, value FROM psycache_get_many(ARRAY['tx']);
ROLLBACK;
SELECT key, value FROM psycache_get_many(ARRAY['tx']);

-- the SQL runs instead when the table is not as the extension made it, with the same rows:
-- row-level security enabled (the owner is not subject to it) ...
ALTER TABLE psycache ENABLE ROW LEVEL SECURITY;
SELECT name, many(keys) = reference(keys) AS same_as_sql FROM batches ORDER BY name;
ALTER TABLE psycache DISABLE ROW LEVEL SECURITY;
-- ... no primary key ...
ALTER TABLE psycache DROP CONSTRAINT psycache_pkey;
SELECT name, many(keys) = reference(keys) AS same_as_sql FROM batches ORDER BY name;
ALTER TABLE psycache ADD PRIMARY KEY (key);
-- ... a primary key on something else than key alone ...
ALTER TABLE psycache DROP CONSTRAINT psycache_pkey, ADD PRIMARY KEY (key, expires_at);
SELECT name, many(keys) = reference(keys) AS same_as_sql FROM batches ORDER BY name;
ALTER TABLE psycache DROP CONSTRAINT psycache_pkey, ADD PRIMARY KEY (key);
-- ... and an added column changes nothing
ALTER TABLE psycache ADD COLUMN note text;
SELECT name, many(keys) = reference(keys) AS same_as_sql FROM batches ORDER BY name;
ALTER TABLE psycache DROP COLUMN note;

-- privileges: column privileges are enough, as for the SQL; without them, the SQL's error
CREATE ROLE regress_psycache_many;
GRANT EXECUTE ON FUNCTION psycache_get_many(text[]) TO regress_psycache_many;
SET ROLE regress_psycache_many;
SELECT * FROM psycache_get_many(ARRAY['a']);
RESET ROLE;
GRANT SELECT (key, value) ON psycache TO regress_psycache_many;
SET ROLE regress_psycache_many;
SELECT * FROM psycache_get_many(ARRAY['a']);
RESET ROLE;
GRANT SELECT (expires_at) ON psycache TO regress_psycache_many;
SET ROLE regress_psycache_many;
SELECT * FROM psycache_get_many(ARRAY['a', 'b', 'expired', 'missing']);
RESET ROLE;
-- row-level security applies to the role (by the SQL, which get_many then runs)
ALTER TABLE psycache ENABLE ROW LEVEL SECURITY;
CREATE POLICY regress_visible ON psycache USING (key <> 'a');
SELECT key, value FROM psycache_get_many(ARRAY['a', 'b']);
SET ROLE regress_psycache_many;
SELECT key, value FROM psycache_get_many(ARRAY['a', 'b']);
RESET ROLE;
DROP POLICY regress_visible ON psycache;
ALTER TABLE psycache DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON psycache FROM regress_psycache_many;
REVOKE ALL ON FUNCTION psycache_get_many(text[]) FROM regress_psycache_many;
DROP ROLE regress_psycache_many;

-- the table renamed, gone, made again: every call sees the catalog as it is now
ALTER TABLE psycache RENAME TO psycache_aside;
SELECT * FROM psycache_get_many(ARRAY['a']);
SELECT * FROM psycache_get('a');
ALTER TABLE psycache_aside RENAME TO psycache;
SELECT key, value FROM psycache_get_many(ARRAY['a']);
SELECT value FROM psycache_get('a');
BEGIN;
ALTER TABLE psycache RENAME TO psycache_aside;
CREATE TABLE psycache (key text PRIMARY KEY, value jsonb NOT NULL, expires_at timestamptz NOT NULL);
INSERT INTO psycache VALUES ('a', '"new table"', statement_timestamp() + interval '1 hour');
SELECT key, value FROM psycache_get_many(ARRAY['a']);
SELECT value FROM psycache_get('a');
ROLLBACK;
SELECT key, value FROM psycache_get_many(ARRAY['a']);
SELECT value FROM psycache_get('a');

DROP TABLE batches;
DROP FUNCTION many(text[]), reference(text[]);
DROP EXTENSION psycache;
