// What the operations of extension version 1.1 (cache_batches.cpp, cache_entries.cpp) share: their
// prepared statements, a way to run them, and the parts of the CacheCore in cache.cpp they use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <psycache/pg_result.hpp>
#include <psycache/ttl.hpp>

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

// Runs statement with params (text, none NULL) as the CacheCore runs its own statements
// (statement_run.hpp); returns its one row, or every row when many_rows.
PgResult run(const CacheCore& core, const Statement& statement,
             const std::vector<std::string>& params, bool many_rows = false);

// The CacheCore's Statements11, and its error translation (CacheCore::fail).
const Statements11& statements_1_1_of(const CacheCore& core);
[[noreturn]] void fail_of(const CacheCore& core, Spans* spans, std::string_view operation,
                          const std::string_view* key = nullptr);

// elements as a PostgreSQL array literal: {"a","b\"c"}, every element quoted.
std::string array_literal(const std::vector<std::string>& elements);

// The key a batch's span is started with: its first ("" for an empty batch).
inline std::string_view span_key(const std::vector<std::string>& keys) {
  return keys.empty() ? std::string_view{} : std::string_view{keys.front()};
}

// The one parameter of psycache_get_many and psycache_remove_many: keys as an array literal.
// Throws InvalidArgument, as validate_key does, for the first bad key.
std::string keys_parameter(const std::vector<std::string>& keys);

// The three parameters of psycache_put_many: the keys, the values (each checked as put_raw does,
// against max_value_bytes) and the ttl. Throws InvalidArgument for the first bad key or value.
std::vector<std::string> put_many_parameters(
    const std::vector<std::pair<std::string, nlohmann::json>>& entries, const Ttl& ttl,
    std::size_t max_value_bytes);

// A PostgreSQL integer array in text form ({1,2,3}) as its elements. Throws ServerError for
// anything else, naming operation.
std::vector<std::int64_t> parse_integer_array(std::string_view text, std::string_view operation);

}  // namespace psycache::detail
