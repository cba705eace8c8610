// What the sync and the async cache share: their statements and the checks
// of a value before it is sent.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace psycache::detail {

// One prepared statement: its name on the connection and its SQL.
struct Statement {
  std::string name;
  std::string sql;
};

// The name is derived from the SQL, so caches of different schemas (or
// versions) never redefine each other's statements on a shared connection.
Statement make_statement(std::string_view operation, std::string sql);

// The calls of the extension's functions in schema (unquoted), one per operation.
struct CacheStatements {
  Statement get, put, remove, cleanup, flush, stats;
};
CacheStatements make_cache_statements(const std::string& schema);

// text cut to a length fit for a message.
std::string shorten(std::string_view text);

// Where a JSON pointer points, for a message.
std::string where(const std::string& path);

// Whether value holds something jsonb cannot store; if so, sets problem to
// what it is and path to where (a JSON pointer).
bool find_unstorable(const nlohmann::json& value, const char*& problem, std::string& path,
                     std::size_t depth = 0);

// value as compact JSON text, ready to send for key; throws InvalidArgument
// for what jsonb cannot store and for text longer than max_bytes (0: no limit).
std::string value_text(std::string_view key, const nlohmann::json& value, std::size_t max_bytes);

}  // namespace psycache::detail
