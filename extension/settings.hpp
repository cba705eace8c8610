// The psycache.* settings (GUCs) of the cleanup worker. All of them take effect on a reload.
#pragma once

#include "pg.hpp"

namespace psycache {

// The most databases psycache.cleanup_databases may name; the shared memory of the last runs has
// one slot for each.
constexpr int kMaxCleanupDatabases = 64;

// psycache.cleanup_interval: seconds between two cleanup passes; 0 turns the worker off.
extern int cleanup_interval;
// psycache.cleanup_batch_size: rows deleted per transaction.
extern int cleanup_batch_size;
// psycache.cleanup_batch_delay: milliseconds the worker sleeps after each batch; 0: none.
extern int cleanup_batch_delay;
// psycache.cleanup_databases: the databases to clean up, a comma-separated list of identifiers.
extern char* cleanup_databases;
// psycache.cleanup_role: the role the cleanup runs as; empty means the extension's owner.
extern char* cleanup_role;

// Whether psycache.cleanup_databases names database.
bool ListsCleanupDatabase(const char* database);

// Defines the settings and reserves the psycache. prefix; called once from _PG_init.
void DefineSettings();

}  // namespace psycache
