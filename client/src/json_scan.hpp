// What the JSON reader and writer share: how they find the end of plain string text and check
// its UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace psycache::detail {

// The length (2 to 4) of the well-formed UTF-8 sequence of a non-ASCII lead byte at p, or 0 if
// the bytes up to end are not one (Unicode's table 3-7: no overlong forms, no surrogates,
// nothing past U+10FFFF), exactly what nlohmann_json's parser and dump() accept.
inline std::size_t utf8_sequence_length(const char* p, const char* end) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(p[i]); };
  const auto continuation = [&](std::size_t i, unsigned char low, unsigned char high) {
    return byte(i) >= low && byte(i) <= high;
  };
  const auto left = static_cast<std::size_t>(end - p);
  const unsigned char lead = byte(0);
  if (lead >= 0xC2 && lead <= 0xDF) {
    return left >= 2 && continuation(1, 0x80, 0xBF) ? 2 : 0;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (left < 3) return 0;
    const unsigned char low = lead == 0xE0 ? 0xA0 : 0x80;
    const unsigned char high = lead == 0xED ? 0x9F : 0xBF;
    return continuation(1, low, high) && continuation(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (left < 4) return 0;
    const unsigned char low = lead == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = lead == 0xF4 ? 0x8F : 0xBF;
    return continuation(1, low, high) && continuation(2, 0x80, 0xBF) && continuation(3, 0x80, 0xBF)
               ? 4
               : 0;
  }
  return 0;
}

// Whether one of the 8 bytes in word is a quote, a backslash, a control character or not ASCII.
inline bool has_special_byte(std::uint64_t word) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  const std::uint64_t quote = word ^ (kOnes * '"');
  const std::uint64_t backslash = word ^ (kOnes * '\\');
  // (x - ones) & ~x sets a byte's high bit where x has a zero byte (exact up to the first one),
  // word - 0x20 per byte likewise where a byte is below 0x20, and word itself above 0x7f.
  return ((((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) |
           ((word - kOnes * 0x20) & ~word) | word) &
          kHighs) != 0;
}

// The first byte from p on that ends a run of plain JSON string text: a quote, a backslash, a
// control character or a byte that is not ASCII; end if there is none. 8 bytes at a time.
inline const char* skip_plain_string_text(const char* p, const char* end) noexcept {
  while (end - p >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    if (has_special_byte(word)) break;
    p += 8;
  }
  for (; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
  }
  return p;
}

}  // namespace psycache::detail
