// The --ttl option of `psycache put`: a duration as a person types it.
//
// A non-negative decimal number with an optional unit: ms, s (the default),
// m, h or d. Examples: 30, 30s, 1.5h, 500ms, 7d. 0 is allowed (the entry is
// stored already expired). No sign, no exponent, no spaces, no mixed units
// ("1h30m"): one number, one unit.
#pragma once

#include <string_view>

#include <psycache/ttl.hpp>

namespace psycache::cli {

// The TTL text stands for. Throws UsageError when text is not a TTL, or one
// too long for the cache (more than about 292,000 years).
Ttl parse_ttl(std::string_view text);

}  // namespace psycache::cli
