-- Who may use the cache: the role that created the extension, and nobody else until granted.
-- The extension is trusted: a role with CREATE on the database installs it without superuser.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(43);
SET LOCAL search_path = public;

CREATE ROLE psycache_tap_creator;
CREATE ROLE psycache_tap_nobody;
CREATE ROLE psycache_tap_reader;
SELECT format('GRANT CREATE ON DATABASE %I TO psycache_tap_creator', current_database()) \gexec

SELECT is((SELECT trusted FROM pg_available_extension_versions
           WHERE name = 'psycache' AND version = '1.0'), true, 'psycache 1.0 is a trusted extension');
SELECT is(rolsuper, false, 'the creating role is not a superuser')
FROM pg_roles WHERE rolname = 'psycache_tap_creator';

-- without CREATE on the database, a role cannot install it
SET ROLE psycache_tap_nobody;
SELECT throws_ok('CREATE EXTENSION psycache', '42501',
                 'permission denied to create extension "psycache"',
                 'a role without CREATE on the database cannot install psycache');
RESET ROLE;

-- with CREATE on the database, and owning nothing, a role can
SET ROLE psycache_tap_creator;
SELECT lives_ok('CREATE EXTENSION psycache',
                'a role with CREATE on the database installs psycache');
SELECT is((SELECT extowner::regrole::text FROM pg_extension WHERE extname = 'psycache'),
          'psycache_tap_creator', 'the creating role owns the extension');
SELECT is(public.psycache_put('k', '"v"', interval '1 hour'), 10, 'the creating role can put');
SELECT is((SELECT value FROM public.psycache_get('k')), '"v"'::jsonb, 'the creating role can get');
SELECT is((SELECT entries FROM public.psycache_stats()), 1::bigint,
          'the creating role can read the stats');
SELECT is(public.psycache_remove('k'), true, 'the creating role can remove');
SELECT is(public.psycache_cleanup(), 0::bigint, 'the creating role can clean up');
SELECT is(public.psycache_put('k', '"v"', interval '1 hour'), 10, 'the creating role can put again');
SELECT is(public.psycache_flush(), 1::bigint, 'the creating role can flush');
SELECT ok(has_table_privilege('public.psycache', 'SELECT, INSERT, UPDATE, DELETE'),
          'the creating role can read and write the table');
RESET ROLE;
SELECT is(public.psycache_put('secret', '"s3cr3t"', interval '1 hour'), 15,
          'a superuser can use it too');

-- a role with no grant gets "permission denied", from every function and from the table
SET ROLE psycache_tap_nobody;
SELECT throws_ok($$SELECT * FROM public.psycache_get('secret')$$, '42501',
                 'permission denied for function psycache_get', 'no grant: psycache_get is refused');
SELECT throws_ok($$SELECT public.psycache_put('secret', '1', interval '1 hour')$$, '42501',
                 'permission denied for function psycache_put', 'no grant: psycache_put is refused');
SELECT throws_ok($$SELECT public.psycache_remove('secret')$$, '42501',
                 'permission denied for function psycache_remove', 'no grant: psycache_remove is refused');
SELECT throws_ok($$SELECT public.psycache_cleanup()$$, '42501',
                 'permission denied for function psycache_cleanup', 'no grant: psycache_cleanup is refused');
SELECT throws_ok($$SELECT public.psycache_flush()$$, '42501',
                 'permission denied for function psycache_flush', 'no grant: psycache_flush is refused');
SELECT throws_ok($$SELECT * FROM public.psycache_stats()$$, '42501',
                 'permission denied for function psycache_stats', 'no grant: psycache_stats is refused');
SELECT throws_ok($$SELECT public.psycache_cleanup(10)$$, '42501',
                 'permission denied for function psycache_cleanup',
                 'no grant: psycache_cleanup(batch_size) is refused');
SELECT throws_ok($$SELECT public.psycache_schedule_cleanup()$$, '42501',
                 'permission denied for function psycache_schedule_cleanup',
                 'no grant: psycache_schedule_cleanup is refused');
SELECT throws_ok($$SELECT public.psycache_unschedule_cleanup()$$, '42501',
                 'permission denied for function psycache_unschedule_cleanup',
                 'no grant: psycache_unschedule_cleanup is refused');
SELECT throws_ok($$SELECT * FROM public.psycache$$, '42501',
                 'permission denied for table psycache', 'no grant: reading the table is refused');
SELECT throws_ok($$DELETE FROM public.psycache$$, '42501',
                 'permission denied for table psycache', 'no grant: writing the table is refused');
RESET ROLE;

-- EXECUTE without rights on the table is refused inside the function: an error, not data
GRANT EXECUTE ON FUNCTION public.psycache_get(text), public.psycache_flush()
  TO psycache_tap_nobody;
SET ROLE psycache_tap_nobody;
SELECT throws_ok($$SELECT * FROM public.psycache_get('secret')$$, '42501',
                 'permission denied for table psycache', 'EXECUTE alone: psycache_get is refused');
SELECT throws_ok($$SELECT public.psycache_flush()$$, '42501',
                 'permission denied for table psycache', 'EXECUTE alone: psycache_flush is refused');
RESET ROLE;

-- granted what it needs, the role can read
GRANT SELECT ON public.psycache TO psycache_tap_nobody;
SET ROLE psycache_tap_nobody;
SELECT is((SELECT value FROM public.psycache_get('secret')), '"s3cr3t"'::jsonb,
          'granted EXECUTE and SELECT, a role can get');
RESET ROLE;

-- A read-only role, as README grants it: EXECUTE on every function, SELECT on the table. The
-- functions run with the caller's rights, so the table's grants keep it from writing.
GRANT EXECUTE ON FUNCTION public.psycache_get(text), public.psycache_put(text, jsonb, interval),
  public.psycache_remove(text), public.psycache_cleanup(integer), public.psycache_flush(),
  public.psycache_stats() TO psycache_tap_reader;
GRANT SELECT ON public.psycache TO psycache_tap_reader;
SET ROLE psycache_tap_reader;
SELECT is((SELECT value FROM public.psycache_get('secret')), '"s3cr3t"'::jsonb, 'the reader can get');
SELECT is((SELECT entries FROM public.psycache_stats()), 1::bigint, 'the reader can read the stats');
SELECT throws_ok($$SELECT public.psycache_put('secret', '"stolen"', interval '1 hour')$$, '42501',
                 'permission denied for table psycache', 'the reader cannot put');
SELECT throws_ok($$SELECT public.psycache_put('new', '"planted"', interval '1 hour')$$, '42501',
                 'permission denied for table psycache', 'the reader cannot put a new key');
SELECT throws_ok($$SELECT public.psycache_remove('secret')$$, '42501',
                 'permission denied for table psycache', 'the reader cannot remove');
SELECT throws_ok($$SELECT public.psycache_cleanup()$$, '42501',
                 'permission denied for table psycache', 'the reader cannot clean up');
SELECT throws_ok($$SELECT public.psycache_flush()$$, '42501',
                 'permission denied for table psycache', 'the reader cannot flush');
SELECT throws_ok($$UPDATE public.psycache SET value = '"stolen"'$$, '42501',
                 'permission denied for table psycache', 'the reader cannot write the table');
RESET ROLE;

-- A key, a value or a role's input that looks like SQL is stored as data, never run.
SELECT is(public.psycache_put($$x'); DELETE FROM public.psycache; --$$,
                              $$"'); DELETE FROM public.psycache; --"$$, interval '1 hour') > 0,
          true, 'a key and a value of SQL are stored');
SELECT is((SELECT value FROM public.psycache_get($$x'); DELETE FROM public.psycache; --$$)),
          $$"'); DELETE FROM public.psycache; --"$$::jsonb, 'and read back as they were');
SELECT is(public.psycache_remove($$x'); DELETE FROM public.psycache; --$$), true,
          'and removed as one key');

-- One SECURITY DEFINER function only: psycache_create_cache, which must create C functions (a
-- superuser's right) and checks the caller itself; its search_path is pinned, so nothing the
-- caller plants is resolved with the definer's rights.
SELECT is((SELECT array_agg(p.proname::text || ' ' || coalesce(p.proconfig::text, '{}'))
           FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
           JOIN pg_extension e ON e.oid = d.refobjid
           WHERE e.extname = 'psycache' AND p.prosecdef),
          ARRAY['psycache_create_cache {"search_path=pg_catalog, pg_temp"}'],
          'the one SECURITY DEFINER function is psycache_create_cache, with a pinned search_path');
SELECT is((SELECT count(*) FROM information_schema.role_routine_grants
           WHERE routine_name LIKE 'psycache%' AND grantee = 'PUBLIC'), 0::bigint,
          'PUBLIC may execute no psycache function');

SELECT is((SELECT value FROM public.psycache_get('secret')), '"s3cr3t"'::jsonb,
          'nothing was lost');
SELECT is((SELECT count(*) FROM public.psycache), 1::bigint, 'nothing was added');

SELECT * FROM finish();
ROLLBACK;
