#include "cleanup_runs.hpp"

#include "settings.hpp"

namespace psycache {
namespace {

struct Slot {
  Oid database;          // InvalidOid: a free slot
  uint64 last_recorded;  // a counter value: the slot recorded longest ago is reused first
  CleanupRun run;
};

struct CleanupRuns {
  LWLock* lock;
  uint64 counter;
  Slot slots[kMaxCleanupDatabases];
};

constexpr const char* kTrancheName = "psycache";

CleanupRuns* runs = nullptr;
shmem_request_hook_type previous_request_hook = nullptr;
shmem_startup_hook_type previous_startup_hook = nullptr;

void RequestMemory() {
  if (previous_request_hook != nullptr) previous_request_hook();
  RequestAddinShmemSpace(MAXALIGN(sizeof(CleanupRuns)));
  RequestNamedLWLockTranche(kTrancheName, 1);
}

void StartupMemory() {
  if (previous_startup_hook != nullptr) previous_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  runs = static_cast<CleanupRuns*>(
      ShmemInitStruct("psycache cleanup runs", sizeof(CleanupRuns), &found));
  if (!found) {
    memset(runs, 0, sizeof(CleanupRuns));
    runs->lock = &GetNamedLWLockTranche(kTrancheName)->lock;
  }
  LWLockRelease(AddinShmemInitLock);
}

// The slot of database, or nullptr. The caller holds the lock.
Slot* FindSlot(Oid database) {
  for (Slot& slot : runs->slots) {
    if (slot.database == database) return &slot;
  }
  return nullptr;
}

}  // namespace

void RequestCleanupRunsMemory() {
  previous_request_hook = shmem_request_hook;
  shmem_request_hook = RequestMemory;
  previous_startup_hook = shmem_startup_hook;
  shmem_startup_hook = StartupMemory;
}

bool ReadCleanupRun(Oid database, CleanupRun* run) {
  if (runs == nullptr) return false;
  LWLockAcquire(runs->lock, LW_SHARED);
  const Slot* slot = FindSlot(database);
  bool ran = slot != nullptr && slot->run.start != 0;
  if (ran) *run = slot->run;
  LWLockRelease(runs->lock);
  return ran;
}

CleanupState RecordCleanupRun(Oid database, const CleanupRun* run) {
  if (runs == nullptr) return CleanupState::kNever;
  LWLockAcquire(runs->lock, LW_EXCLUSIVE);
  Slot* slot = FindSlot(database);
  if (slot == nullptr) {
    // A free slot, or else the one recorded longest ago (a database no longer listed).
    slot = &runs->slots[0];
    for (Slot& candidate : runs->slots) {
      if (candidate.database == InvalidOid) {
        slot = &candidate;
        break;
      }
      if (candidate.last_recorded < slot->last_recorded) slot = &candidate;
    }
    memset(slot, 0, sizeof(Slot));
    slot->database = database;
  }
  CleanupState previous = slot->run.state;
  if (run->state == CleanupState::kNoExtension) {
    // Keep the last real run: it tells when the table was last cleaned.
    slot->run.state = run->state;
  } else {
    slot->run = *run;
  }
  slot->last_recorded = ++runs->counter;
  LWLockRelease(runs->lock);
  return previous;
}

}  // namespace psycache
