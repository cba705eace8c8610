// nlohmann::json written as JSON text and checked for what jsonb cannot store in one pass, for
// the values sent on every put.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace psycache::detail {

// Appends value to text as the compact JSON text value.dump() writes, and returns true; or
// returns false, with text unspecified, if value holds anything a put refuses (a non-finite
// number, a NUL character, a string that is not UTF-8, binary) or is nested deeper than this
// writer goes, so that the caller can take the slow path that names the problem.
bool write_storable_json(const nlohmann::json& value, std::string& text);

}  // namespace psycache::detail
