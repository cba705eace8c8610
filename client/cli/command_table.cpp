#include "command_table.hpp"

#include <algorithm>
#include <array>

namespace psycache::cli {
namespace {

constexpr std::string_view kOverview = R"help(usage: psycache <command> [options] [arguments]

Reads and writes a psycache cache: JSON documents with a time-to-live, kept in
PostgreSQL by the psycache extension.

commands:
  init-db [--schema S] [--portable] [DSN]
                              install psycache in a database (without DSN:
                              print the SQL that would do it)
  get KEY [--pretty]          print the JSON document stored under KEY
  put KEY [JSON] --ttl TTL    store JSON (from stdin when absent or "-") for TTL
  remove KEY                  delete KEY; print 1 if it existed, else 0
  cleanup                     delete the expired entries; print how many
  flush                       delete every entry; print how many
  stats                       print the number of entries, of expired entries,
                              and the size of the cache in bytes
  add KEY [JSON] --ttl TTL    store JSON only if KEY is missing or expired;
                              print 1 if it stored, else 0
  touch KEY --ttl TTL         give a live KEY a new TTL; print 1 if it was
                              live, else 0
  ttl KEY                     print the seconds KEY has left
  incr KEY [DELTA] --ttl TTL  add DELTA (default 1) to the integer under KEY;
                              print the result

options of every command but init-db:
  --dsn DSN       the server, as a libpq connection string ("host=db
                  dbname=app") or a postgresql:// URI; default: $PSYCACHE_DSN,
                  and when that is unset, libpq's defaults and environment
                  (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD...)
  --schema S      the schema psycache is installed in (default: public)
  -h, --help      show the help of psycache or of a command

exit status: 0 done, 1 failed (also: get found no entry), 2 usage error.
Run 'psycache <command> --help' for the details of a command.
)help";

constexpr std::string_view kInitDbHelp =
    R"help(usage: psycache init-db [--schema S] [--portable] [DSN]

Installs psycache in a database: runs CREATE EXTENSION IF NOT EXISTS psycache,
which creates the cache table, its index and the functions every client calls,
and prints the schema psycache is installed in. Running it again is harmless.
When the extension lives in another schema already, schema S gets a cache of
its own (its own table and functions, the same names), owned by you.

With --portable, it installs no extension: it creates the same table and
functions in SQL and PL/pgSQL, for servers where the psycache extension cannot
be installed (most managed PostgreSQL services). Every client works the same,
more slowly; there is no background worker.

Without DSN it changes nothing: it prints the SQL it would run, for psql or a
migration tool. (PSYCACHE_DSN is not read here, for that reason.)

arguments:
  DSN             the database, as a libpq connection string or a
                  postgresql:// URI; "" means libpq's defaults (PGHOST,
                  PGPORT...). --dsn DSN works as well.

options:
  --schema S      install into schema S, which must exist (default: the first
                  schema of the search_path, normally public; public with
                  --portable)
  --portable      install the portable SQL functions instead of the extension
  -h, --help      show this help

exit status: 0 done, 1 failed, 2 usage error.
)help";

constexpr std::string_view kGetHelp =
    R"help(usage: psycache get KEY [--pretty] [--dsn DSN] [--schema S]

Prints the JSON document stored under KEY on stdout: compact, on one line.

A miss (KEY was never stored, was removed, or has expired) prints nothing on
stdout, "psycache: get failed: no entry for key 'KEY' (missing or expired)" on
stderr, and exits with status 1, so that a script can write
  value=$(psycache get KEY) || value=default

options:
  --pretty        indent the document, two spaces per level
  --dsn DSN       the server (default: $PSYCACHE_DSN, else libpq's defaults)
  --schema S      the schema psycache is installed in (default: public)
  -h, --help      show this help

exit status: 0 found, 1 miss or failure, 2 usage error.
)help";

constexpr std::string_view kPutHelp =
    R"help(usage: psycache put KEY [JSON] --ttl TTL [--dsn DSN] [--schema S]

Stores the JSON document under KEY for TTL, replacing the value and the expiry
KEY had. JSON is the argument, or stdin when it is absent or "-":
  psycache put user:42 '{"name": "Ada"}' --ttl 10m
  psycache put report --ttl 1d < report.json
Prints nothing. Invalid JSON fails (status 1) and stores nothing.

options:
  --ttl TTL       how long the entry lives (required): a number of seconds, or
                  a number with a unit, ms, s, m, h or d: 30, 45s, 5m, 1.5h, 7d.
                  0 stores the entry already expired. Anything else, such as
                  -5, 1h30m or 1e3, is a usage error (status 2).
  --dsn DSN       the server (default: $PSYCACHE_DSN, else libpq's defaults)
  --schema S      the schema psycache is installed in (default: public)
  -h, --help      show this help

A JSON argument may be a negative number (psycache put n -1 --ttl 1m); after
"--" nothing is an option (psycache put --ttl 1m -- --key '{}').

exit status: 0 stored, 1 failed, 2 usage error.
)help";

constexpr std::string_view kRemoveHelp = R"help(usage: psycache remove KEY [--dsn DSN] [--schema S]

Deletes the entry stored under KEY, expired or not. Prints 1 if there was
one, 0 if there was none; either way the exit status is 0.

options:
  --dsn DSN       the server (default: $PSYCACHE_DSN, else libpq's defaults)
  --schema S      the schema psycache is installed in (default: public)
  -h, --help      show this help

exit status: 0 done, 1 failed, 2 usage error.
)help";

constexpr std::string_view kCleanupHelp = R"help(usage: psycache cleanup [--dsn DSN] [--schema S]

Deletes the entries that have expired and prints how many it deleted.
(An expired entry is a miss even before it is cleaned up.)

options:
  --dsn DSN       the server (default: $PSYCACHE_DSN, else libpq's defaults)
  --schema S      the schema psycache is installed in (default: public)
  -h, --help      show this help

exit status: 0 done, 1 failed, 2 usage error.
)help";

constexpr std::string_view kFlushHelp = R"help(usage: psycache flush [--dsn DSN] [--schema S]

Deletes every entry, expired or not, and prints how many it deleted.

options:
  --dsn DSN       the server (default: $PSYCACHE_DSN, else libpq's defaults)
  --schema S      the schema psycache is installed in (default: public)
  -h, --help      show this help

exit status: 0 done, 1 failed, 2 usage error.
)help";

constexpr std::string_view kStatsHelp = R"help(usage: psycache stats [--dsn DSN] [--schema S]

Prints a summary of the cache, one "name: value" line each:
  entries: 12          entries in the cache, expired or not
  expired_entries: 3   entries past their expiry, not yet cleaned up
  total_bytes: 49152   size of the cache table and its indexes on disk

options:
  --dsn DSN       the server (default: $PSYCACHE_DSN, else libpq's defaults)
  --schema S      the schema psycache is installed in (default: public)
  -h, --help      show this help

exit status: 0 done, 1 failed, 2 usage error.
)help";

constexpr std::string_view kAddHelp =
    R"help(usage: psycache add KEY [JSON] --ttl TTL [--dsn DSN] [--schema S]

Stores the JSON document under KEY for TTL only if KEY is missing or has
expired, and prints 1; if KEY holds a live entry, it changes nothing and prints
0. Of several adds of one key at the same time, exactly one prints 1: a lock
that frees itself after TTL.
  psycache add lock:report '"worker-3"' --ttl 30s
JSON is the argument, or stdin when it is absent or "-".

options:
  --ttl TTL       how long the entry lives (required), as for put: 30, 45s, 5m
  --dsn DSN       the server (default: $PSYCACHE_DSN, else libpq's defaults)
  --schema S      the schema psycache is installed in (default: public)
  -h, --help      show this help

exit status: 0 done (stored or not), 1 failed, 2 usage error.
)help";

constexpr std::string_view kTouchHelp =
    R"help(usage: psycache touch KEY --ttl TTL [--dsn DSN] [--schema S]

Makes a live KEY expire TTL from now, keeping its value, and prints 1. A
missing or expired KEY is left alone: it prints 0.

options:
  --ttl TTL       the new time to live (required), as for put: 30, 45s, 5m
  --dsn DSN       the server (default: $PSYCACHE_DSN, else libpq's defaults)
  --schema S      the schema psycache is installed in (default: public)
  -h, --help      show this help

exit status: 0 done (touched or not), 1 failed, 2 usage error.
)help";

constexpr std::string_view kTtlHelp = R"help(usage: psycache ttl KEY [--dsn DSN] [--schema S]

Prints the time KEY has left, in seconds with six decimals (59.998765).

A miss (KEY is missing or has expired) prints nothing on stdout, says so on
stderr and exits with status 1, as get does.

options:
  --dsn DSN       the server (default: $PSYCACHE_DSN, else libpq's defaults)
  --schema S      the schema psycache is installed in (default: public)
  -h, --help      show this help

exit status: 0 found, 1 miss or failure, 2 usage error.
)help";

constexpr std::string_view kIncrHelp =
    R"help(usage: psycache incr KEY [DELTA] --ttl TTL [--dsn DSN] [--schema S]

Adds DELTA (an integer, default 1; negative counts down) to the counter under
KEY, atomically, and prints the result. A missing or expired KEY starts at
DELTA and lives for TTL; a live one keeps its expiry. The counter is a JSON
integer: any other value fails (status 1) and is left as it was.
  psycache incr hits:/home --ttl 1d

options:
  --ttl TTL       how long a new counter lives (required), as for put
  --dsn DSN       the server (default: $PSYCACHE_DSN, else libpq's defaults)
  --schema S      the schema psycache is installed in (default: public)
  -h, --help      show this help

exit status: 0 done, 1 failed, 2 usage error.
)help";

constexpr std::array kServerOptions{OptionSyntax{.name = "dsn", .takes_value = true},
                                    OptionSyntax{.name = "schema", .takes_value = true}};
constexpr std::array kInitDbOptions{kServerOptions[0], kServerOptions[1],
                                    OptionSyntax{.name = "portable"}};
constexpr std::array kGetOptions{kServerOptions[0], kServerOptions[1],
                                 OptionSyntax{.name = "pretty"}};
constexpr std::array kPutOptions{kServerOptions[0], kServerOptions[1],
                                 OptionSyntax{.name = "ttl", .takes_value = true}};

constexpr std::array<std::string_view, 1> kDsnArgument{"DSN"};
constexpr std::array<std::string_view, 1> kKeyArgument{"KEY"};
constexpr std::array<std::string_view, 2> kKeyJsonArguments{"KEY", "JSON"};
constexpr std::array<std::string_view, 2> kKeyDeltaArguments{"KEY", "DELTA"};
constexpr std::array kTtlOptions = kPutOptions;

constexpr std::array kCommands{
    Command{
        .name = "init-db",
        .syntax = {.options = kInitDbOptions, .max_arguments = 1, .argument_names = kDsnArgument},
        .help = kInitDbHelp,
        .library_operation = "init_db",
        .run = run_init_db},
    Command{.name = "get",
            .syntax = {.options = kGetOptions,
                       .min_arguments = 1,
                       .max_arguments = 1,
                       .argument_names = kKeyArgument},
            .help = kGetHelp,
            .library_operation = "get",
            .run = run_get},
    Command{.name = "put",
            .syntax = {.options = kPutOptions,
                       .min_arguments = 1,
                       .max_arguments = 2,
                       .argument_names = kKeyJsonArguments},
            .help = kPutHelp,
            .library_operation = "put",
            .run = run_put},
    Command{.name = "remove",
            .syntax = {.options = kServerOptions,
                       .min_arguments = 1,
                       .max_arguments = 1,
                       .argument_names = kKeyArgument},
            .help = kRemoveHelp,
            .library_operation = "remove",
            .run = run_remove},
    Command{.name = "cleanup",
            .syntax = {.options = kServerOptions},
            .help = kCleanupHelp,
            .library_operation = "cleanup_expired",
            .run = run_cleanup},
    Command{.name = "flush",
            .syntax = {.options = kServerOptions},
            .help = kFlushHelp,
            .library_operation = "flush",
            .run = run_flush},
    Command{.name = "stats",
            .syntax = {.options = kServerOptions},
            .help = kStatsHelp,
            .library_operation = "stats",
            .run = run_stats},
    Command{.name = "add",
            .syntax = {.options = kTtlOptions,
                       .min_arguments = 1,
                       .max_arguments = 2,
                       .argument_names = kKeyJsonArguments},
            .help = kAddHelp,
            .library_operation = "add",
            .run = run_add},
    Command{.name = "touch",
            .syntax = {.options = kTtlOptions,
                       .min_arguments = 1,
                       .max_arguments = 1,
                       .argument_names = kKeyArgument},
            .help = kTouchHelp,
            .library_operation = "touch",
            .run = run_touch},
    Command{.name = "ttl",
            .syntax = {.options = kServerOptions,
                       .min_arguments = 1,
                       .max_arguments = 1,
                       .argument_names = kKeyArgument},
            .help = kTtlHelp,
            .library_operation = "ttl",
            .run = run_ttl},
    Command{.name = "incr",
            .syntax = {.options = kTtlOptions,
                       .min_arguments = 1,
                       .max_arguments = 2,
                       .argument_names = kKeyDeltaArguments},
            .help = kIncrHelp,
            .library_operation = "incr",
            .run = run_incr},
};

}  // namespace

const Command* find_command(std::string_view name) {
  const auto* const it = std::find_if(kCommands.begin(), kCommands.end(),
                                      [&](const Command& command) { return command.name == name; });
  return it == kCommands.end() ? nullptr : &*it;
}

std::string_view overview_help() { return kOverview; }

}  // namespace psycache::cli
