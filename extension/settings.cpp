#include "settings.hpp"

namespace psycache {

int cleanup_interval = 60;
int cleanup_batch_size = 20;
int cleanup_batch_delay = 1;
char* cleanup_databases = nullptr;
char* cleanup_role = nullptr;

namespace {

// psycache.cleanup_databases must be a list of identifiers, like search_path, and not too long.
bool CheckDatabases(char** value, void** extra, GucSource source) {
  char* copy = pstrdup(*value);
  List* names = nullptr;
  bool valid = SplitIdentifierString(copy, ',', &names);
  int count = valid ? list_length(names) : 0;
  list_free(names);
  pfree(copy);
  if (!valid) {
    GUC_check_errdetail(
        "List syntax is invalid: separate the names with commas, and quote a "
        "name that has capitals, spaces or commas in double quotes.");
    return false;
  }
  if (count > kMaxCleanupDatabases) {
    GUC_check_errdetail("It names %d databases; psycache cleans up at most %d.", count,
                        kMaxCleanupDatabases);
    return false;
  }
  return true;
}

}  // namespace

bool ListsCleanupDatabase(const char* database) {
  char* copy = pstrdup(cleanup_databases != nullptr ? cleanup_databases : "");
  List* names = nullptr;
  bool listed = false;
  if (SplitIdentifierString(copy, ',', &names)) {
    ListCell* cell = nullptr;
    foreach (cell, names) {
      listed = strcmp(static_cast<const char*>(lfirst(cell)), database) == 0;
      if (listed) break;
    }
  }
  list_free(names);
  pfree(copy);
  return listed;
}

void DefineSettings() {
  DefineCustomIntVariable(
      "psycache.cleanup_interval", "Seconds between two cleanup passes of the psycache worker.",
      "0 turns the worker off. Takes effect on reload; the worker runs only when psycache is in "
      "shared_preload_libraries.",
      &cleanup_interval, 60, 0, INT_MAX / 1000, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "psycache.cleanup_batch_size", "Expired entries the psycache worker deletes per transaction.",
      "Smaller batches hold row locks, and the CPU, for less time at once.", &cleanup_batch_size,
      20, 1, INT_MAX, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "psycache.cleanup_batch_delay", "Milliseconds the psycache worker sleeps after each batch.",
      "Paces a pass, like vacuum_cost_delay, so that it never takes a whole CPU from the "
      "queries that run meanwhile. 0 runs the batches back to back.",
      &cleanup_batch_delay, 1, 0, 10000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "psycache.cleanup_databases", "Databases whose psycache table the worker cleans up.",
      "A comma-separated list of database names; a database without the extension is skipped.",
      &cleanup_databases, "postgres", PGC_SIGHUP, GUC_LIST_INPUT, CheckDatabases, nullptr, nullptr);
  DefineCustomStringVariable("psycache.cleanup_role",
                             "Role the psycache worker deletes expired entries as.",
                             "Empty means the owner of the psycache extension in each database.",
                             &cleanup_role, "", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  MarkGUCPrefixReserved("psycache");
}

}  // namespace psycache
