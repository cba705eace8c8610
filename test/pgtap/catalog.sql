-- The objects CREATE EXTENSION psycache makes: the table Python psycache shares, and the functions.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE SCHEMA psycache_tap;
CREATE EXTENSION psycache SCHEMA psycache_tap;
SELECT plan(54);

-- the table
SELECT tables_are('psycache_tap', ARRAY['psycache'], 'the extension makes one table');
SELECT is((SELECT relpersistence FROM pg_class WHERE oid = 'psycache_tap.psycache'::regclass),
          'u', 'the table is unlogged');
SELECT columns_are('psycache_tap', 'psycache', ARRAY['key', 'value', 'expires_at'],
                   'the columns are those of Python psycache');
SELECT col_type_is('psycache_tap', 'psycache', 'key', 'text', 'key is text');
SELECT col_type_is('psycache_tap', 'psycache', 'value', 'jsonb', 'value is jsonb');
SELECT col_type_is('psycache_tap', 'psycache', 'expires_at', 'timestamp with time zone',
                   'expires_at is timestamptz');
SELECT col_not_null('psycache_tap', 'psycache', 'key', 'key is NOT NULL');
SELECT col_not_null('psycache_tap', 'psycache', 'value', 'value is NOT NULL');
SELECT col_not_null('psycache_tap', 'psycache', 'expires_at', 'expires_at is NOT NULL');
SELECT col_hasnt_default('psycache_tap', 'psycache', 'expires_at', 'expires_at has no default');
SELECT has_pk('psycache_tap', 'psycache', 'the table has a primary key');
SELECT col_is_pk('psycache_tap', 'psycache', 'key', 'the primary key is key');
SELECT indexes_are('psycache_tap', 'psycache', ARRAY['psycache_pkey', 'ix_psycache_expires_at'],
                   'the indexes are the primary key and ix_psycache_expires_at');
SELECT has_index('psycache_tap', 'psycache', 'ix_psycache_expires_at', 'expires_at',
                 'ix_psycache_expires_at indexes expires_at');
SELECT index_is_type('psycache_tap', 'psycache', 'ix_psycache_expires_at', 'btree',
                     'ix_psycache_expires_at is a btree');
SELECT is((SELECT reloptions FROM pg_class WHERE oid = 'psycache_tap.psycache'::regclass),
          ARRAY['autovacuum_vacuum_scale_factor=0.02', 'autovacuum_vacuum_threshold=1000'],
          'autovacuum comes at 2% of dead rows (plus 1000); the fillfactor is the default');

-- the functions
SELECT functions_are('psycache_tap', ARRAY['psycache_get', 'psycache_put', 'psycache_remove',
                     'psycache_cleanup', 'psycache_flush', 'psycache_stats',
                     'psycache_schedule_cleanup', 'psycache_unschedule_cleanup',
                     'psycache_get_many', 'psycache_put_many', 'psycache_remove_many',
                     'psycache_add', 'psycache_touch', 'psycache_ttl', 'psycache_incr',
                     'psycache_caches', 'psycache_create_cache', 'psycache_drop_cache',
                     'psycache_cleanup_all'],
                     'the extension makes the cache functions, the two pg_cron ones and the '
                     'four that manage several caches (those of 1.1: see functions_1_1.sql)');

SELECT is(pg_get_function_arguments('psycache_tap.psycache_get(text)'::regprocedure),
          'key text, OUT value jsonb, OUT size integer', 'psycache_get(key) -> (value, size)');
SELECT function_returns('psycache_tap', 'psycache_get', ARRAY['text'], 'record',
                        'psycache_get returns a record');
SELECT is(pg_get_function_arguments('psycache_tap.psycache_put(text, jsonb, interval)'::regprocedure),
          'key text, value jsonb, ttl interval', 'psycache_put(key, value, ttl)');
SELECT function_returns('psycache_tap', 'psycache_put', ARRAY['text', 'jsonb', 'interval'],
                        'integer', 'psycache_put returns the stored size, an integer');
SELECT is(pg_get_function_arguments('psycache_tap.psycache_remove(text)'::regprocedure),
          'key text', 'psycache_remove(key)');
SELECT function_returns('psycache_tap', 'psycache_remove', ARRAY['text'], 'boolean',
                        'psycache_remove returns a boolean');
SELECT is(pg_get_function_arguments('psycache_tap.psycache_cleanup(integer)'::regprocedure),
          'batch_size integer DEFAULT 10000', 'psycache_cleanup(batch_size = 10000)');
SELECT function_returns('psycache_tap', 'psycache_cleanup', ARRAY['integer'], 'bigint',
                        'psycache_cleanup(batch_size) returns a bigint');
SELECT has_function('psycache_tap', 'psycache_cleanup', ARRAY['integer'],
                    'psycache_cleanup has one signature: a call without argument takes the default');
SELECT function_returns('psycache_tap', 'psycache_flush', ARRAY[]::text[], 'bigint',
                        'psycache_flush() returns a bigint');
SELECT is(pg_get_function_arguments('psycache_tap.psycache_stats()'::regprocedure),
          'OUT entries bigint, OUT expired_entries bigint, OUT total_bytes bigint, '
          'OUT worker_last_run timestamp with time zone, OUT worker_last_deleted bigint, '
          'OUT worker_last_duration interval, OUT worker_last_error text',
          'psycache_stats() -> (entries, expired_entries, total_bytes, then the worker''s last pass)');
SELECT is(pg_get_function_arguments('psycache_tap.psycache_schedule_cleanup(text)'::regprocedure),
          'schedule text DEFAULT ''* * * * *''::text',
          'psycache_schedule_cleanup(schedule = every minute)');
SELECT function_returns('psycache_tap', 'psycache_schedule_cleanup', ARRAY['text'], 'bigint',
                        'psycache_schedule_cleanup returns the pg_cron job id, a bigint');
SELECT function_returns('psycache_tap', 'psycache_unschedule_cleanup', ARRAY[]::text[], 'boolean',
                        'psycache_unschedule_cleanup() returns a boolean');

SELECT function_lang_is('psycache_tap', 'psycache_get', ARRAY['text'], 'c', 'psycache_get is C');
SELECT function_lang_is('psycache_tap', 'psycache_put', ARRAY['text', 'jsonb', 'interval'], 'c',
                        'psycache_put is C');
SELECT function_lang_is('psycache_tap', 'psycache_remove', ARRAY['text'], 'c', 'psycache_remove is C');
SELECT function_lang_is('psycache_tap', 'psycache_cleanup', ARRAY['integer'], 'c',
                        'psycache_cleanup is C');
SELECT function_lang_is('psycache_tap', 'psycache_flush', ARRAY[]::text[], 'c', 'psycache_flush is C');
SELECT function_lang_is('psycache_tap', 'psycache_stats', ARRAY[]::text[], 'c', 'psycache_stats is C');
SELECT function_lang_is('psycache_tap', 'psycache_schedule_cleanup', ARRAY['text'], 'c',
                        'psycache_schedule_cleanup is C');
SELECT function_lang_is('psycache_tap', 'psycache_unschedule_cleanup', ARRAY[]::text[], 'c',
                        'psycache_unschedule_cleanup is C');

-- NULL arguments reach the C functions, which refuse them with their own errors
SELECT isnt_strict('psycache_tap', 'psycache_get', ARRAY['text'], 'psycache_get is not strict');
SELECT isnt_strict('psycache_tap', 'psycache_put', ARRAY['text', 'jsonb', 'interval'],
                   'psycache_put is not strict');
SELECT isnt_strict('psycache_tap', 'psycache_remove', ARRAY['text'], 'psycache_remove is not strict');
SELECT isnt_strict('psycache_tap', 'psycache_cleanup', ARRAY['integer'], 'psycache_cleanup is not strict');
SELECT isnt_strict('psycache_tap', 'psycache_schedule_cleanup', ARRAY['text'],
                   'psycache_schedule_cleanup is not strict');

-- each call reads or writes the table: volatile; and each runs with the caller's rights
SELECT volatility_is('psycache_tap', 'psycache_get', ARRAY['text'], 'volatile', 'psycache_get is volatile');
SELECT volatility_is('psycache_tap', 'psycache_put', ARRAY['text', 'jsonb', 'interval'], 'volatile',
                     'psycache_put is volatile');
SELECT volatility_is('psycache_tap', 'psycache_remove', ARRAY['text'], 'volatile',
                     'psycache_remove is volatile');
SELECT isnt_definer('psycache_tap', 'psycache_get', ARRAY['text'], 'psycache_get is not SECURITY DEFINER');
SELECT isnt_definer('psycache_tap', 'psycache_put', ARRAY['text', 'jsonb', 'interval'],
                    'psycache_put is not SECURITY DEFINER');
SELECT isnt_definer('psycache_tap', 'psycache_remove', ARRAY['text'],
                    'psycache_remove is not SECURITY DEFINER');
SELECT isnt_definer('psycache_tap', 'psycache_cleanup', ARRAY['integer'],
                    'psycache_cleanup is not SECURITY DEFINER');
SELECT isnt_definer('psycache_tap', 'psycache_flush', ARRAY[]::text[],
                    'psycache_flush is not SECURITY DEFINER');
SELECT isnt_definer('psycache_tap', 'psycache_schedule_cleanup', ARRAY['text'],
                    'psycache_schedule_cleanup is not SECURITY DEFINER: pg_cron sees the caller');
SELECT isnt_definer('psycache_tap', 'psycache_unschedule_cleanup', ARRAY[]::text[],
                    'psycache_unschedule_cleanup is not SECURITY DEFINER');

SELECT * FROM finish();
ROLLBACK;
