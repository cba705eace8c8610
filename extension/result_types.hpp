// The row type of the functions that return a record (psycache_get, psycache_stats), built once
// per backend instead of on every call.
#pragma once

#include "pg.hpp"

namespace psycache {

// The blessed tuple descriptor of the record that the function being called returns (its OUT
// columns). get_call_result_type rebuilds it from pg_proc on each call; this keeps it, per
// function OID, for the life of the backend. The OUT columns of a function cannot change while it
// keeps its OID (CREATE OR REPLACE refuses), so a kept descriptor is only checked again after an
// invalidation of pg_proc, in case the OID now names another function.
TupleDesc ResultDescriptor(FunctionCallInfo fcinfo);

}  // namespace psycache
