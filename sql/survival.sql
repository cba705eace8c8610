-- After each error the session goes on: the next call in the same backend works.
CREATE EXTENSION IF NOT EXISTS psycache;
SELECT pg_backend_pid() AS pid \gset
SELECT psycache_put('k', '"v"', interval '1 hour');

-- errors raised by psycache itself
SELECT psycache_get(NULL);
SELECT value FROM psycache_get('k');
SELECT psycache_put(repeat('x', 2049), '1', interval '1 hour');
SELECT value FROM psycache_get('k');
SELECT psycache_put('k', '1', interval '300000 years');
SELECT value FROM psycache_get('k');
-- an error before psycache runs
SELECT psycache_put('k', 'nope', interval '1 hour');
SELECT value FROM psycache_get('k');

-- errors raised inside psycache's own SQL are passed on unchanged: message, detail, hint
BEGIN READ ONLY;
SELECT psycache_put('k', '"read only"', interval '1 hour');
ROLLBACK;
SELECT value FROM psycache_get('k');
CREATE FUNCTION refuse_forbidden() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'key % is forbidden', NEW.key
    USING ERRCODE = 'integrity_constraint_violation',
          DETAIL = 'The test trigger refuses it.', HINT = 'Pick another key.';
END $$;
CREATE TRIGGER refuse_forbidden BEFORE INSERT ON psycache
  FOR EACH ROW WHEN (NEW.key = 'forbidden') EXECUTE FUNCTION refuse_forbidden();
SELECT psycache_put('forbidden', '1', interval '1 hour');
SELECT value FROM psycache_get('k');

-- the same errors inside a transaction: rolled back as a whole, nothing half-done
BEGIN;
SELECT psycache_put('in transaction', '1', interval '1 hour');
SELECT psycache_put('forbidden', '1', interval '1 hour');
ROLLBACK;
SELECT * FROM psycache_get('in transaction');

-- caught by PL/pgSQL, each error is an ordinary exception
DO $$
DECLARE
  calls text[] := ARRAY[
    $q$SELECT psycache_get(NULL)$q$,
    $q$SELECT psycache_remove(repeat('x', 3000))$q$,
    $q$SELECT psycache_put('k', '1', interval '-300000 years')$q$,
    $q$SELECT psycache_put('forbidden', '1', interval '1 hour')$q$];
  call text;
BEGIN
  FOREACH call IN ARRAY calls LOOP
    BEGIN
      EXECUTE call;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE '% -> %: %', call, SQLSTATE, SQLERRM;
    END;
  END LOOP;
  PERFORM psycache_put('after the loop', '1', interval '1 hour');
END $$;
SELECT value FROM psycache_get('after the loop');

SELECT pg_backend_pid() = :pid AS same_backend;
SELECT key, value FROM psycache ORDER BY key;

DROP TRIGGER refuse_forbidden ON psycache;
DROP FUNCTION refuse_forbidden();
DROP EXTENSION psycache;
