// A PGresult of one row made on the client: what a query that ran inside a batch completes with,
// so that it reads its answer exactly as if it had run alone.
#pragma once

#include <initializer_list>
#include <libpq-fe.h>
#include <optional>
#include <string_view>

#include <psycache/async_pool.hpp>

namespace psycache::detail {

// One column of that row: its name, type and text (nullopt: NULL).
struct ResultColumn {
  const char* name = nullptr;
  Oid type = InvalidOid;
  std::optional<std::string_view> text;
};

// Throws std::bad_alloc when libpq cannot allocate it.
PgResult one_row_result(std::initializer_list<ResultColumn> columns);

}  // namespace psycache::detail
