// The SQL behind each cache function, run through SPI with plans prepared once per backend.
#pragma once

#include "pg.hpp"

namespace psycache {

enum class Statement { kGet, kPut, kRemove, kCleanup, kFlush };

// What a statement returns: how many rows it processed and the first row's columns (at most
// two), copied into the caller's memory context.
struct StatementResult {
  uint64 rows;
  Datum columns[2];
  bool nulls[2];
};

// Runs statement with args (see statements.cpp for each one's parameters) on the cache table of
// the extension that owns the function being called, whatever the caller's search_path is.
StatementResult RunStatement(FunctionCallInfo fcinfo, Statement statement, Datum* args);

}  // namespace psycache
