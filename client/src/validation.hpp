// Client-side checks of keys and schema names, and how they are quoted.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace psycache::detail {

// The longest key the server accepts, in bytes.
inline constexpr std::size_t kMaxKeyBytes = 2048;
// PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes.
inline constexpr std::size_t kMaxIdentifierBytes = 63;

// The offset of the first byte that is not part of well-formed UTF-8 (no
// overlong forms, no surrogates, nothing past U+10FFFF), if any.
std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept;

// Throws InvalidArgument unless key is valid UTF-8, has no NUL byte and is at
// most kMaxKeyBytes long.
void validate_key(std::string_view key);

// Throws InvalidArgument unless schema is a usable identifier.
void validate_schema(std::string_view schema);

// text in double quotes, fit for a message: control characters and bytes
// that are not UTF-8 escaped as \xNN, long text shortened.
std::string quote_for_message(std::string_view text);

// text as an SQL identifier in double quotes, inner quotes doubled.
std::string quote_identifier(std::string_view text);

// text as an SQL string literal in single quotes, inner quotes doubled.
std::string quote_literal(std::string_view text);

}  // namespace psycache::detail
