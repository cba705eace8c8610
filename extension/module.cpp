// The loadable module: its magic block (lets PostgreSQL check that psycache was built for it) and
// its initialisation.
#include "pg.hpp"
// The psycache headers after PostgreSQL's.
#include "cleanup_runs.hpp"
#include "cleanup_worker.hpp"
#include "settings.hpp"

extern "C" {
PG_MODULE_MAGIC;

// Defines the settings in every process that loads psycache. The cleanup worker and the shared
// memory of its runs exist only when psycache is in shared_preload_libraries; the cache functions
// need neither.
PGDLLEXPORT void _PG_init(void);
void _PG_init(void) {
  psycache::DefineSettings();
  if (!process_shared_preload_libraries_in_progress) return;
  psycache::RequestCleanupRunsMemory();
  psycache::RegisterCleanupLauncher();
}
}
