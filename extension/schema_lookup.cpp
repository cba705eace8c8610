// ExtensionSchema and CacheTable (statements.hpp): the schema of the function being called and
// its cache table, remembered per backend instead of read from three catalog caches on every call.
// What is remembered is forgotten by the same invalidation messages that update those caches, so
// every call sees exactly what a fresh lookup would.
#include <string>
#include <vector>

#include "boundary.hpp"
#include "errors.hpp"
#include "statements.hpp"

extern "C" {
#include "storage/sinval.h"
#include "utils/inval.h"
}

namespace psycache {
namespace {

constexpr const char* kTableName = "psycache";

struct KnownFunction {
  Oid function;
  uint32 function_hash;  // of its pg_proc row, as the catalog cache hashes it
  bool schema_checked;   // false after an invalidation that may concern schema or quoted
  Oid schema;
  uint32 schema_hash;  // of the schema's pg_namespace row
  std::string quoted;  // the schema's name, quoted
  bool table_checked;  // false after an invalidation that may concern table
  uint32 table_hash;   // of the pg_class row named psycache in schema (found or not)
  Oid table;           // InvalidOid when there is no such table
};

// A few entries per backend (one per function of the extension that is called); never freed.
// The invalidation callbacks only clear flags: they may run inside any catalog access.
std::vector<KnownFunction> known;
bool callbacks_registered = false;

// Catalog cache callbacks: hash 0 means every row.
void ForgetFunction(Datum /*argument*/, int /*cache*/, uint32 hash) {
  for (KnownFunction& entry : known) {
    if (hash == 0 || entry.function_hash == hash) {
      entry.schema_checked = entry.table_checked = false;
    }
  }
}

void ForgetSchema(Datum /*argument*/, int /*cache*/, uint32 hash) {
  for (KnownFunction& entry : known) {
    if (hash == 0 || entry.schema_hash == hash) {
      entry.schema_checked = entry.table_checked = false;
    }
  }
}

void ForgetTable(Datum /*argument*/, int /*cache*/, uint32 hash) {
  for (KnownFunction& entry : known) {
    if (hash == 0 || entry.table_hash == hash) entry.table_checked = false;
  }
}

void RegisterCallbacks() {
  CacheRegisterSyscacheCallback(PROCOID, ForgetFunction, 0);
  CacheRegisterSyscacheCallback(NAMESPACEOID, ForgetSchema, 0);
  CacheRegisterSyscacheCallback(RELNAMENSP, ForgetTable, 0);
}

// The entry of the function being called, with its schema checked. Each flag is set before the
// lookups it covers: an invalidation that arrives while they read the catalog clears it again,
// and the next call looks once more.
KnownFunction& Known(FunctionCallInfo fcinfo) {
  if (fcinfo->flinfo == nullptr) {
    throw Error(ERRCODE_FEATURE_NOT_SUPPORTED, "psycache functions must be called from SQL");
  }
  const Oid function = fcinfo->flinfo->fn_oid;
  KnownFunction* entry = nullptr;
  for (KnownFunction& candidate : known) {
    if (candidate.function == function) {
      entry = &candidate;
      break;
    }
  }
  if (entry != nullptr && entry->schema_checked) return *entry;
  if (!callbacks_registered) {
    PgCall(RegisterCallbacks);
    callbacks_registered = true;
  }
  if (entry == nullptr) {
    const uint32 hash =
        PgCall([function] { return GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(function)); });
    known.push_back(KnownFunction{function, hash, false, InvalidOid, 0, {}, false, 0, InvalidOid});
    entry = &known.back();
  }
  entry->schema_checked = true;
  entry->table_checked = false;
  const Oid schema = PgCall([function] { return get_func_namespace(function); });
  entry->schema = schema;
  entry->schema_hash =
      PgCall([schema] { return GetSysCacheHashValue1(NAMESPACEOID, ObjectIdGetDatum(schema)); });
  const char* quoted = PgCall([schema]() -> const char* {
    char* name = get_namespace_name(schema);
    return name != nullptr ? quote_identifier(name) : nullptr;
  });
  if (quoted == nullptr) {
    entry->schema_checked = false;
    throw Error(ERRCODE_UNDEFINED_SCHEMA, "the schema of the psycache extension does not exist");
  }
  entry->quoted = quoted;
  return *entry;
}

}  // namespace

const char* ExtensionSchema(FunctionCallInfo fcinfo, Oid* schema) {
  const KnownFunction& entry = Known(fcinfo);
  *schema = entry.schema;
  const char* quoted = entry.quoted.c_str();
  return PgCall([quoted] { return pstrdup(quoted); });
}

Oid CacheTable(FunctionCallInfo fcinfo) {
  KnownFunction& entry = Known(fcinfo);
  if (entry.table_checked) return entry.table;
  const Oid schema = entry.schema;
  entry.table_checked = true;
  entry.table_hash = PgCall([schema] {
    return GetSysCacheHashValue2(RELNAMENSP, PointerGetDatum(kTableName), ObjectIdGetDatum(schema));
  });
  entry.table = PgCall([schema] { return get_relname_relid(kTableName, schema); });
  return entry.table;
}

Oid LockCacheTable(FunctionCallInfo fcinfo, LOCKMODE mode) {
  Oid table = CacheTable(fcinfo);
  while (OidIsValid(table)) {
    const uint64 seen = SharedInvalidMessageCounter;
    PgCall([table, mode] { LockRelationOid(table, mode); });
    if (seen == SharedInvalidMessageCounter) break;
    const Oid again = CacheTable(fcinfo);
    if (again == table) break;
    PgCall([table, mode] { UnlockRelationOid(table, mode); });
    table = again;
  }
  return table;
}

}  // namespace psycache
