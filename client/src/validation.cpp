#include "validation.hpp"

#include <array>
#include <cstdint>

#include <psycache/errors.hpp>

namespace psycache::detail {
namespace {

// The length of the well-formed UTF-8 sequence at text[pos], or 0.
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[pos + i]); };
  const auto continuation = [&](std::size_t i) {
    return pos + i < text.size() && (byte(i) & 0xC0U) == 0x80U;
  };
  const std::uint8_t lead = byte(0);
  if (lead < 0x80U) return 1;
  if (lead >= 0xC2U && lead <= 0xDFU) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0U && lead <= 0xEFU) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0U && byte(1) < 0xA0U) return 0;   // overlong
    if (lead == 0xEDU && byte(1) >= 0xA0U) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xF0U && lead <= 0xF4U) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0U && byte(1) < 0x90U) return 0;   // overlong
    if (lead == 0xF4U && byte(1) >= 0x90U) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

// text between two quote characters, each quote inside doubled.
std::string quote_doubling(std::string_view text, char quote) {
  std::string quoted(1, quote);
  for (const char c : text) {
    if (c == quote) quoted += quote;
    quoted += c;
  }
  quoted += quote;
  return quoted;
}

char hex_digit(unsigned nibble) noexcept {
  return static_cast<char>(nibble < 10 ? '0' + nibble : 'a' + (nibble - 10));
}

}  // namespace

std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t length = utf8_sequence_length(text, pos);
    if (length == 0) return pos;
    pos += length;
  }
  return std::nullopt;
}

void validate_key(std::string_view key) {
  if (key.size() > kMaxKeyBytes) {
    throw InvalidArgument("invalid key " + quote_for_message(key) + ": it is " +
                          std::to_string(key.size()) + " bytes long; the limit is " +
                          std::to_string(kMaxKeyBytes) + " bytes");
  }
  if (const std::size_t nul = key.find('\0'); nul != std::string_view::npos) {
    throw InvalidArgument("invalid key " + quote_for_message(key) +
                          ": it contains a NUL byte at offset " + std::to_string(nul));
  }
  if (const auto bad = find_invalid_utf8(key)) {
    throw InvalidArgument("invalid key " + quote_for_message(key) +
                          ": it is not valid UTF-8 (bad byte at offset " + std::to_string(*bad) +
                          ")");
  }
}

void validate_schema(std::string_view schema) {
  const auto refuse = [&](const std::string& problem) {
    throw InvalidArgument("invalid schema name " + quote_for_message(schema) + ": " + problem);
  };
  if (schema.empty()) throw InvalidArgument("invalid schema name: schema must not be empty");
  if (schema.find('\0') != std::string_view::npos) refuse("it contains a NUL byte");
  if (find_invalid_utf8(schema)) refuse("it is not valid UTF-8");
  if (schema.size() > kMaxIdentifierBytes) {
    refuse("it is " + std::to_string(schema.size()) + " bytes long; PostgreSQL names are at most " +
           std::to_string(kMaxIdentifierBytes) + " bytes");
  }
}

std::string quote_for_message(std::string_view text) {
  constexpr std::size_t kShownBytes = 64;
  std::string quoted = "\"";
  std::size_t pos = 0;
  while (pos < text.size() && pos < kShownBytes) {
    const auto byte = static_cast<std::uint8_t>(text[pos]);
    const std::size_t length = utf8_sequence_length(text, pos);
    if (byte == '"' || byte == '\\') {
      quoted += '\\';
      quoted += static_cast<char>(byte);
    } else if (length == 0 || byte < 0x20U || byte == 0x7FU) {
      quoted += "\\x";
      quoted += hex_digit(byte >> 4U);
      quoted += hex_digit(byte & 0xFU);
    } else {
      quoted.append(text.substr(pos, length));
      pos += length;
      continue;
    }
    ++pos;
  }
  quoted += '"';
  if (pos < text.size()) quoted += "... (" + std::to_string(text.size()) + " bytes)";
  return quoted;
}

std::string quote_identifier(std::string_view text) { return quote_doubling(text, '"'); }

std::string quote_literal(std::string_view text) { return quote_doubling(text, '\''); }

}  // namespace psycache::detail
