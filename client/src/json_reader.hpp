// JSON text read into nlohmann::json with fewer instructions than nlohmann::json::parse, for
// the values the server sends on every get.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace psycache::detail {

// text as nlohmann::json: the same value, with the same value types (unsigned, integer, float),
// as nlohmann::json::parse(text) gives, and the same exceptions. Made for jsonb's output (no
// comments, no BOM, shallow nesting, few escapes); for anything else it may leave the work to
// nlohmann::json::parse.
nlohmann::json read_json(std::string_view text);

// The reader alone, without nlohmann::json::parse behind it: false (out unspecified) where it
// leaves text to nlohmann::json::parse (bad JSON, a BOM, nesting deeper than 256 levels, a number
// past double's range or so close to 0 that it underflows), otherwise out as read_json gives it.
bool try_read_json(std::string_view text, nlohmann::json& out);

}  // namespace psycache::detail
