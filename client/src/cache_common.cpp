#include "cache_common.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>

#include <psycache/errors.hpp>

#include "json_writer.hpp"
#include "validation.hpp"

namespace psycache::detail {
namespace {

// name as a JSON pointer reference token (RFC 6901).
std::string escape_pointer_token(const std::string& name) {
  std::string token;
  for (const char c : name) {
    if (c == '~') {
      token += "~0";
    } else if (c == '/') {
      token += "~1";
    } else {
      token += c;
    }
  }
  return token;
}

}  // namespace

Statement make_statement(std::string_view operation, std::string sql) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a
  for (const char c : sql) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  char hex[17];
  (void)std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return Statement{"psycache_" + std::string{operation} + "_" + hex, std::move(sql)};
}

CacheStatements make_cache_statements(const std::string& schema_name) {
  const std::string schema = quote_identifier(schema_name);
  return CacheStatements{
      // The function is called in a target list, not in FROM: a FunctionScan would build the
      // descriptor of its OUT columns from pg_proc and a tuplestore on every execution. Being
      // volatile, the call is not pulled up into the outer list, so it runs once per row.
      .get = make_statement("get", "SELECT (e).value, (e).size FROM (SELECT " + schema +
                                       ".psycache_get($1::pg_catalog.text) AS e) AS entry"),
      .put = make_statement("put", "SELECT " + schema +
                                       ".psycache_put($1::pg_catalog.text, $2::pg_catalog.jsonb, "
                                       "$3::pg_catalog.interval)"),
      .remove =
          make_statement("remove", "SELECT " + schema + ".psycache_remove($1::pg_catalog.text)"),
      .cleanup = make_statement("cleanup", "SELECT " + schema + ".psycache_cleanup()"),
      .flush = make_statement("flush", "SELECT " + schema + ".psycache_flush()"),
      .stats = make_statement("stats", "SELECT entries, expired_entries, total_bytes FROM " +
                                           schema + ".psycache_stats()")};
}

std::string shorten(std::string_view text) {
  constexpr std::size_t kLimit = 160;
  if (text.size() <= kLimit) return std::string{text};
  return std::string{text.substr(0, kLimit)} + "...";
}

std::string where(const std::string& path) {
  return path.empty() ? "at the top level" : "at \"" + shorten(path) + "\"";
}

// The deepest nesting of arrays and objects put_raw accepts. The server's jsonb parser recurses
// once per level and gives up past max_stack_depth (between 10,000 and 20,000 levels at the
// default 2 MB); this walk and nlohmann_json's dump recurse too, so a deeper value is refused
// here, before it can exhaust the client's stack.
constexpr std::size_t kMaxValueDepth = 10000;

// The path is built only on the way back from a find, so a storable value
// costs no allocation.
bool find_unstorable(const nlohmann::json& value, const char*& problem, std::string& path,
                     std::size_t depth) {
  if (value.is_structured() && ++depth > kMaxValueDepth) {
    problem =
        "more than 10000 levels of nested arrays and objects, which the server's parser "
        "may not take, ";
    return true;
  }
  switch (value.type()) {
    case nlohmann::json::value_t::number_float:
      problem = "a non-finite number (NaN or infinity), which JSON cannot represent, ";
      return !std::isfinite(value.get_ref<const double&>());
    case nlohmann::json::value_t::string:
      problem = "a string with a NUL character (\\u0000), which jsonb cannot store, ";
      return value.get_ref<const std::string&>().find('\0') != std::string::npos;
    case nlohmann::json::value_t::array: {
      std::size_t index = 0;
      for (const auto& element : value) {
        if (find_unstorable(element, problem, path, depth)) {
          path.insert(0, "/" + std::to_string(index));
          return true;
        }
        ++index;
      }
      return false;
    }
    case nlohmann::json::value_t::object:
      for (const auto& [name, element] : value.get_ref<const nlohmann::json::object_t&>()) {
        if (name.find('\0') != std::string::npos) {
          problem = "an object key with a NUL character (\\u0000), which jsonb cannot store, ";
          return true;
        }
        if (find_unstorable(element, problem, path, depth)) {
          path.insert(0, "/" + escape_pointer_token(name));
          return true;
        }
      }
      return false;
    default:
      return false;
  }
}

std::string value_text(std::string_view key, const nlohmann::json& value, std::size_t max_bytes) {
  std::string text;
  // One pass writes and checks what nearly every value is; whatever it does not take (a value
  // put refuses, or a deep one) takes the walk and dump() that name the problem.
  text.reserve(256);
  if (!write_storable_json(value, text)) {
    const char* problem = nullptr;
    if (std::string path; find_unstorable(value, problem, path)) {
      throw InvalidArgument("invalid value for key " + quote_for_message(key) + ": it contains " +
                            problem + where(path));
    }
    try {
      text = value.dump();
    } catch (const nlohmann::json::exception& e) {
      throw InvalidArgument("invalid value for key " + quote_for_message(key) + ": " + e.what());
    }
  }
  if (max_bytes != 0 && text.size() > max_bytes) {
    throw InvalidArgument("invalid value for key " + quote_for_message(key) + ": it is " +
                          std::to_string(text.size()) +
                          " bytes as JSON text, more than CacheOptions::max_value_bytes (" +
                          std::to_string(max_bytes) + ")");
  }
  return text;
}

}  // namespace psycache::detail
