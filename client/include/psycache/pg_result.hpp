// PgResult: a libpq result that frees itself, the answer to one statement. An AsyncCachePool
// completes a query with one (async_pool.hpp).
#pragma once

#include <memory>

extern "C" {
struct pg_result;
}

namespace psycache::detail {

// Frees a libpq result.
struct PgResultDeleter {
  void operator()(pg_result* result) const noexcept;
};
using PgResult = std::unique_ptr<pg_result, PgResultDeleter>;

}  // namespace psycache::detail
