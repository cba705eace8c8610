-- psycache_get reads the primary key index itself, without SQL: the same answers as the SQL it
-- replaces, in every case where they could differ.
CREATE EXTENSION IF NOT EXISTS psycache;
\pset null '(null)'
CREATE FUNCTION same_as_table(k text) RETURNS TABLE (value_matches boolean, size_matches boolean)
LANGUAGE sql AS $$
  SELECT g.value IS NOT DISTINCT FROM t.value, g.size IS NOT DISTINCT FROM pg_column_size(t.value)
  FROM psycache_get(k) AS g
  LEFT JOIN (SELECT value FROM psycache WHERE key = k AND expires_at > statement_timestamp()) AS t
  ON true
$$;

-- an expired entry is a miss, though its row is still there
SELECT psycache_put('expired', '"old"', interval '-1 second');
SELECT * FROM psycache_get('expired');
SELECT count(*) AS rows_left FROM psycache WHERE key = 'expired';
-- an entry that expires exactly now (statement_timestamp() + 0) is a miss too
SELECT psycache_put('now', '1', interval '0');
SELECT * FROM psycache_get('now');

-- sizes are pg_column_size of the stored value: inline, compressed inline, out of line
-- (compressed), out of line (incompressible)
SELECT psycache_put('inline', '{"a": 1}', interval '1 hour') AS put_size;
SELECT psycache_put('compressed', (SELECT jsonb_agg(i % 10) FROM generate_series(1, 1500) AS i),
                    interval '1 hour') AS put_size;
SELECT psycache_put('toasted', (SELECT jsonb_agg(i % 10) FROM generate_series(1, 100000) AS i),
                    interval '1 hour') AS put_size;
SELECT psycache_put('incompressible',
                    (SELECT jsonb_agg(md5(i::text)) FROM generate_series(1, 2000) AS i),
                    interval '1 hour') AS put_size;
SELECT k AS key, g.size, (SELECT pg_column_size(value) FROM psycache WHERE key = k) AS stored,
       (SELECT octet_length(value::text) FROM psycache WHERE key = k) AS text_bytes
FROM unnest(ARRAY['inline', 'compressed', 'toasted', 'incompressible']) AS k, psycache_get(k) AS g;
SELECT k, s.* FROM unnest(ARRAY['inline', 'compressed', 'toasted', 'incompressible', 'expired',
                                'missing']) AS k, same_as_table(k) AS s;
-- the value comes back whole, not as a pointer into the table
SELECT jsonb_array_length(value) AS elements, value->>99999 AS last FROM psycache_get('toasted');

-- in a transaction, the transaction's own changes are seen, by a later statement and by a later
-- call in the same statement
BEGIN;
SELECT psycache_put('tx', '"first"', interval '1 hour');
SELECT value FROM psycache_get('tx');
UPDATE psycache SET value = '"updated"' WHERE key = 'tx';
SELECT value FROM psycache_get('tx');
UPDATE psycache SET expires_at = statement_timestamp() - interval '1 second' WHERE key = 'tx';
SELECT value FROM psycache_get('tx');
SELECT psycache_put('tx', '"same statement"', interval '1 hour') AS put,
       (SELECT value FROM psycache_get('tx')) AS got;
ROLLBACK;
SELECT * FROM psycache_get('tx');

-- column privileges are enough, as for the SQL; without them, the same error as the SQL's
CREATE ROLE regress_psycache_columns;
GRANT EXECUTE ON FUNCTION psycache_get(text) TO regress_psycache_columns;
GRANT SELECT (key, value) ON psycache TO regress_psycache_columns;
SET ROLE regress_psycache_columns;
SELECT * FROM psycache_get('inline');
RESET ROLE;
GRANT SELECT (expires_at) ON psycache TO regress_psycache_columns;
SET ROLE regress_psycache_columns;
SELECT * FROM psycache_get('inline');
RESET ROLE;

-- row-level security is applied (by the SQL, which psycache_get then runs)
ALTER TABLE psycache ENABLE ROW LEVEL SECURITY;
CREATE POLICY regress_visible ON psycache USING (key <> 'inline');
SELECT * FROM psycache_get('inline');
SET ROLE regress_psycache_columns;
SELECT * FROM psycache_get('inline');
SELECT size FROM psycache_get('compressed');
RESET ROLE;
DROP POLICY regress_visible ON psycache;
ALTER TABLE psycache DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON psycache FROM regress_psycache_columns;
REVOKE ALL ON FUNCTION psycache_get(text) FROM regress_psycache_columns;
DROP ROLE regress_psycache_columns;

-- the table rewritten, reindexed, emptied, changed: every call sees the table as it is now
VACUUM FULL psycache;
SELECT * FROM psycache_get('inline');
CLUSTER psycache USING psycache_pkey;
SELECT * FROM psycache_get('inline');
REINDEX TABLE psycache;
SELECT * FROM psycache_get('inline');
REINDEX INDEX CONCURRENTLY psycache_pkey;
SELECT * FROM psycache_get('inline');
ALTER TABLE psycache ADD COLUMN note text;
SELECT * FROM psycache_get('inline');
ALTER TABLE psycache DROP COLUMN note;
SELECT * FROM psycache_get('inline');
-- no primary key: the SQL finds the row all the same
ALTER TABLE psycache DROP CONSTRAINT psycache_pkey;
SELECT * FROM psycache_get('inline');
ALTER TABLE psycache ADD PRIMARY KEY (key);
SELECT * FROM psycache_get('inline');
TRUNCATE psycache;
SELECT * FROM psycache_get('inline');
SELECT psycache_put('inline', '{"a": 2}', interval '1 hour');
SELECT * FROM psycache_get('inline');

-- dropped and created again in the same session: the new table, the new function
DROP FUNCTION same_as_table(text);
DROP EXTENSION psycache;
CREATE EXTENSION psycache;
SELECT * FROM psycache_get('inline');
SELECT psycache_put('inline', '{"a": 3}', interval '1 hour');
SELECT * FROM psycache_get('inline');
-- and with the table gone, the error is the SQL's
ALTER EXTENSION psycache DROP TABLE psycache;
DROP TABLE psycache;
SELECT * FROM psycache_get('inline');
DROP EXTENSION psycache;
