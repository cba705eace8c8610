// The last cleanup pass of the worker in each database, in shared memory, so that any backend
// can show it (psycache_stats). It exists only when psycache is in shared_preload_libraries.
//
// Plain C-style code: the worker calls it outside any C++ error boundary.
#pragma once

#include "pg.hpp"

namespace psycache {

// What the worker found on its last visit to a database.
enum class CleanupState { kNever, kDone, kFailed, kNoExtension };

// The worker's last pass in one database.
struct CleanupRun {
  CleanupState state;
  TimestampTz start;  // when the pass began
  int64 deleted;      // rows it deleted (by its committed batches, when it failed)
  int64 duration_us;  // how long it took, in microseconds
  char error[256];    // the error that ended it, when state is kFailed
};

// Asks for the shared memory and installs the hooks that create it; called from _PG_init while
// shared_preload_libraries are loaded.
void RequestCleanupRunsMemory();

// Copies the last pass in database into *run and returns true, or returns false when the worker
// has not cleaned up there since the server started. Its state may be kNoExtension: the extension
// was dropped (and created again) since that pass.
bool ReadCleanupRun(Oid database, CleanupRun* run);

// Records the run of a pass in database. Returns the state that the previous visit left, so that
// the worker can log a persisting condition once rather than on every pass.
CleanupState RecordCleanupRun(Oid database, const CleanupRun* run);

}  // namespace psycache
