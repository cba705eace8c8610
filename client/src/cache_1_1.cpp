#include "cache_1_1.hpp"

#include <charconv>

#include <psycache/errors.hpp>

#include "validation.hpp"

namespace psycache::detail {

Statements11 Statements11::for_schema(const std::string& quoted_schema) {
  const std::string& s = quoted_schema;
  return Statements11{
      .get_many = make_statement(
          "get_many", "SELECT value, size FROM " + s + ".psycache_get_many($1::pg_catalog.text[])"),
      .put_many =
          make_statement("put_many", "SELECT " + s +
                                         ".psycache_put_many($1::pg_catalog.text[], "
                                         "$2::pg_catalog.jsonb[], $3::pg_catalog.interval)"),
      .remove_many = make_statement("remove_many",
                                    "SELECT " + s + ".psycache_remove_many($1::pg_catalog.text[])"),
      .add = make_statement("add", "SELECT " + s +
                                       ".psycache_add($1::pg_catalog.text, $2::pg_catalog.jsonb, "
                                       "$3::pg_catalog.interval)"),
      .touch = make_statement(
          "touch", "SELECT " + s + ".psycache_touch($1::pg_catalog.text, $2::pg_catalog.interval)"),
      // The interval in whole microseconds (the server's resolution), exactly: the epoch of an
      // interval is a numeric.
      .ttl = make_statement("ttl", "SELECT CAST(pg_catalog.extract('epoch', " + s +
                                       ".psycache_ttl($1::pg_catalog.text)) OPERATOR(pg_catalog.*) "
                                       "1000000 AS pg_catalog.int8)"),
      .incr = make_statement("incr", "SELECT " + s +
                                         ".psycache_incr($1::pg_catalog.text, $2::pg_catalog.int8, "
                                         "$3::pg_catalog.interval)"),
  };
}

std::string array_literal(const std::vector<std::string>& elements) {
  std::size_t length = 2;
  for (const std::string& element : elements) length += element.size() + 3;
  std::string literal;
  literal.reserve(length);
  literal += '{';
  for (const std::string& element : elements) {
    if (literal.size() > 1) literal += ',';
    literal += '"';
    for (const char c : element) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

std::string keys_parameter(const std::vector<std::string>& keys) {
  for (const std::string& key : keys) validate_key(key);
  return array_literal(keys);
}

std::vector<std::string> put_many_parameters(
    const std::vector<std::pair<std::string, nlohmann::json>>& entries, const Ttl& ttl,
    std::size_t max_value_bytes) {
  std::vector<std::string> keys;
  std::vector<std::string> values;
  keys.reserve(entries.size());
  values.reserve(entries.size());
  for (const auto& [key, value] : entries) {
    validate_key(key);
    keys.push_back(key);
    values.push_back(value_text(key, value, max_value_bytes));
  }
  return {array_literal(keys), array_literal(values), ttl.to_interval()};
}

std::vector<std::int64_t> parse_integer_array(std::string_view text, std::string_view operation) {
  const auto refuse = [&] {
    throw ServerError(std::string{operation} + " failed: the server returned \"" +
                      std::string{text.substr(0, 80)} + "\", not an integer array");
  };
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') refuse();
  std::vector<std::int64_t> numbers;
  const char* position = text.data() + 1;
  const char* const end = text.data() + text.size() - 1;
  while (position < end) {
    std::int64_t number = 0;
    const auto [next, error] = std::from_chars(position, end, number);
    if (error != std::errc{} || (next != end && *next != ',')) refuse();
    numbers.push_back(number);
    position = next == end ? end : next + 1;
  }
  return numbers;
}

}  // namespace psycache::detail
