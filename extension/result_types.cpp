#include "result_types.hpp"

#include <vector>

#include "boundary.hpp"
#include "errors.hpp"

extern "C" {
#include "utils/inval.h"
}

namespace psycache {
namespace {

struct KeptDescriptor {
  Oid function;
  uint32 hash;     // of the function's pg_proc row in the catalog cache, to match invalidations
  bool checked;    // false after an invalidation that may concern the function
  TupleDesc desc;  // in CacheMemoryContext, blessed
};

// A few entries per backend (one per record-returning function); a kept descriptor is never freed
// (a caller further up the stack may still be using it), only replaced if its OID was reused.
std::vector<KeptDescriptor> kept;
bool callback_registered = false;

// Catalog cache callback for pg_proc: hash 0 means every row.
void ForgetProcedure(Datum, int, uint32 hash) {
  for (KeptDescriptor& entry : kept) {
    if (hash == 0 || entry.hash == hash) entry.checked = false;
  }
}

// The descriptor get_call_result_type builds, copied into CacheMemoryContext and blessed.
TupleDesc BuildDescriptor(FunctionCallInfo fcinfo) {
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
    elog(ERROR, "a psycache function that returns a record was declared otherwise");
  }
  MemoryContext previous = MemoryContextSwitchTo(CacheMemoryContext);
  desc = CreateTupleDescCopy(desc);
  MemoryContextSwitchTo(previous);
  return BlessTupleDesc(desc);
}

}  // namespace

TupleDesc ResultDescriptor(FunctionCallInfo fcinfo) {
  if (fcinfo->flinfo == nullptr) {
    throw Error(ERRCODE_FEATURE_NOT_SUPPORTED, "psycache functions must be called from SQL");
  }
  const Oid function = fcinfo->flinfo->fn_oid;
  for (KeptDescriptor& entry : kept) {
    if (entry.function != function) continue;
    if (entry.checked) return entry.desc;
    TupleDesc fresh = PgCall([fcinfo] { return BuildDescriptor(fcinfo); });
    if (PgCall([&entry, fresh] { return equalTupleDescs(entry.desc, fresh); })) {
      PgCall([fresh] { FreeTupleDesc(fresh); });
    } else {
      entry.desc = fresh;
    }
    entry.checked = true;
    return entry.desc;
  }
  if (!callback_registered) {
    PgCall([] { CacheRegisterSyscacheCallback(PROCOID, ForgetProcedure, 0); });
    callback_registered = true;
  }
  TupleDesc desc = PgCall([fcinfo] { return BuildDescriptor(fcinfo); });
  uint32 hash =
      PgCall([function] { return GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(function)); });
  kept.push_back(KeptDescriptor{function, hash, true, desc});
  return desc;
}

}  // namespace psycache
