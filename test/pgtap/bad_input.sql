-- Each bad argument is refused with its own error code and message, and nothing stored is lost.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
\ir install.psql
SET LOCAL search_path = psycache_tap, public;
SELECT plan(25);

SELECT is(psycache_put('kept', '{"kept": true}', interval '1 hour'), 17, 'an entry to keep');

-- NULLs: 22004 null_value_not_allowed
SELECT throws_ok($$SELECT psycache_get(NULL)$$, '22004', 'psycache key must not be null',
                 'get refuses a NULL key');
SELECT throws_ok($$SELECT psycache_put(NULL, '1', interval '1 hour')$$, '22004',
                 'psycache key must not be null', 'put refuses a NULL key');
SELECT throws_ok($$SELECT psycache_put('kept', NULL, interval '1 hour')$$, '22004',
                 'psycache value must not be null', 'put refuses a NULL value');
SELECT throws_ok($$SELECT psycache_put('kept', '1', NULL)$$, '22004',
                 'psycache ttl must not be null', 'put refuses a NULL ttl');
SELECT throws_ok($$SELECT psycache_remove(NULL)$$, '22004', 'psycache key must not be null',
                 'remove refuses a NULL key');

-- ttls out of range: 22008 datetime_field_overflow
SELECT throws_ok($$SELECT psycache_put('kept', '1', interval '300000 years')$$, '22008',
                 'psycache ttl is out of range', 'put refuses a ttl past the end of timestamptz');
SELECT throws_ok($$SELECT psycache_put('kept', '1', interval '-300000 years')$$, '22008',
                 'psycache ttl is out of range', 'put refuses a ttl before the start of timestamptz');
SELECT throws_ok($$SELECT psycache_put('kept', '1', interval '2147483647 days')$$, '22008',
                 'psycache ttl is out of range', 'put refuses the largest day count');
-- no infinite ttl can be written in PostgreSQL 15: 22007 invalid_datetime_format, 22008
SELECT throws_ok($$SELECT psycache_put('kept', '1', interval 'infinity')$$, '22007',
                 'invalid input syntax for type interval: "infinity"', 'there is no infinite interval');
SELECT throws_ok($$SELECT psycache_put('kept', '1', 'infinity'::timestamptz - now())$$, '22008',
                 'cannot subtract infinite timestamps', 'nor a way to compute one');
SELECT lives_ok($$SELECT psycache_put('negative', '1', interval '-1 second')$$,
                'a negative ttl is allowed');

-- keys over 2048 bytes: 54000 program_limit_exceeded
SELECT throws_ok($$SELECT psycache_put(repeat('k', 2049), '1', interval '1 hour')$$, '54000',
                 'psycache key is 2049 bytes long, over the limit of 2048 bytes',
                 'put refuses a key of 2049 bytes');
SELECT throws_ok($$SELECT psycache_get(repeat('é', 1025))$$, '54000',
                 'psycache key is 2050 bytes long, over the limit of 2048 bytes',
                 'get refuses a key of 1025 two-byte characters');
SELECT throws_ok($$SELECT psycache_remove(repeat('k', 100000))$$, '54000',
                 'psycache key is 100000 bytes long, over the limit of 2048 bytes',
                 'remove refuses a key of 100000 bytes');
SELECT lives_ok($$SELECT psycache_put(repeat('k', 2048), '1', interval '1 hour')$$,
                'a key of 2048 bytes is allowed');
SELECT lives_ok($$SELECT psycache_put('', '"empty"', interval '1 hour')$$, 'the empty key is allowed');
SELECT is((SELECT value FROM psycache_get('')), '"empty"'::jsonb, 'and can be read back');

-- values that are not jsonb fail at the cast: 22P02 invalid_text_representation
SELECT throws_ok($$SELECT psycache_put('kept', '{"a": ', interval '1 hour')$$, '22P02',
                 'invalid input syntax for type json', 'an unterminated object is refused');
SELECT throws_ok($$SELECT psycache_put('kept', 'undefined', interval '1 hour')$$, '22P02',
                 'invalid input syntax for type json', 'a bare word is refused');
SELECT throws_ok($$SELECT psycache_put('kept', '"\u0000"', interval '1 hour')$$, '22P05',
                 'unsupported Unicode escape sequence', 'a NUL character is refused');

-- PostgreSQL errors inside psycache's SQL keep their code: 25006 read_only_sql_transaction
SET TRANSACTION READ ONLY;
SELECT throws_ok($$SELECT psycache_put('kept', '1', interval '1 hour')$$, '25006',
                 'cannot execute INSERT in a read-only transaction',
                 'put in a read-only transaction gets the error of the INSERT');
SELECT throws_ok($$SELECT psycache_flush()$$, '25006',
                 'cannot execute DELETE in a read-only transaction',
                 'flush in a read-only transaction gets the error of the DELETE');

SELECT is((SELECT value FROM psycache_get('kept')), '{"kept": true}'::jsonb, 'nothing was lost');
SELECT is((SELECT count(*) FROM psycache), 4::bigint, 'only the valid puts were stored');

SELECT * FROM finish();
ROLLBACK;
