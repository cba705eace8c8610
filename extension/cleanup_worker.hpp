// The cleanup background workers: one launcher, registered at server start, that starts a
// short-lived worker for each listed database every psycache.cleanup_interval seconds. Each
// worker connects, deletes the expired entries batch by batch, records its run and exits, so
// that no database is held open between passes (DROP DATABASE, pg_regress and friends need that).
//
// The process entry points are plain C-style code: no C++ object with a destructor lives in a
// frame that a PostgreSQL error may longjmp over, and no C++ exception is ever thrown.
#pragma once

#include "pg.hpp"

namespace psycache {

// Registers the launcher; called from _PG_init while shared_preload_libraries are loaded.
void RegisterCleanupLauncher();

// Starts the worker of one pass in database (named database_name); *handle tells when it is done.
// Returns false when no background worker slot is free.
bool StartCleanupWorker(Oid database, const char* database_name, BackgroundWorkerHandle** handle);

}  // namespace psycache

extern "C" {
// The launcher: wakes every psycache.cleanup_interval seconds and starts the passes.
PGDLLEXPORT void psycache_cleanup_launcher_main(Datum argument);
// One pass in the database whose OID is argument (its name is in bgw_extra).
PGDLLEXPORT void psycache_cleanup_worker_main(Datum argument);
}
