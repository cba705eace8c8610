// What the operations of extension version 1.1 (cache_batches.cpp, cache_entries.cpp) share: their
// prepared statements, a way to run them, and the parts of the CacheCore in cache.cpp they use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/result>

#include <psycache/pool.hpp>

#include "cache_common.hpp"

namespace psycache::detail {

class CacheCore;
class Spans;

// The statements of the 1.1 functions for one schema.
struct Statements11 {
  Statement get_many, put_many, remove_many, add, touch, ttl, incr;

  // quoted_schema: the schema as a quoted identifier.
  static Statements11 for_schema(const std::string& quoted_schema);
};

// The CacheCore's pool, its Statements11, and its error translation (CacheCore::fail).
PoolHandle& pool_of(const CacheCore& core);
const Statements11& statements_1_1_of(const CacheCore& core);
[[noreturn]] void fail_of(const CacheCore& core, Spans* spans, std::string_view operation,
                          const std::string_view* key = nullptr);

// Runs statement with params (text, none NULL) on a connection of pool: one round trip (two the
// first time a connection sees the statement); returns every row.
pqxx::result run(PoolHandle& pool, const Statement& statement,
                 const std::vector<std::string>& params);

// elements as a PostgreSQL array literal: {"a","b\"c"}, every element quoted.
std::string array_literal(const std::vector<std::string>& elements);

// A PostgreSQL integer array in text form ({1,2,3}) as its elements. Throws ServerError for
// anything else, naming operation.
std::vector<std::int64_t> parse_integer_array(std::string_view text, std::string_view operation);

}  // namespace psycache::detail
