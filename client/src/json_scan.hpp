// What the JSON reader and writer share: how they find the end of plain string text and check
// its UTF-8.
#pragma once

#include <array>
#include <bit>
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

// The bytes of word (8 of the text, in memory order) that end a run of plain JSON string text: a
// quote, a backslash, a control character or a byte that is not ASCII. Each such byte has its
// high bit set in the result; a byte after the first such one may be set too, never one before.
inline std::uint64_t special_bytes(std::uint64_t word) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  const std::uint64_t quote = word ^ (kOnes * '"');
  const std::uint64_t backslash = word ^ (kOnes * '\\');
  // (x - ones) & ~x sets the high bit of x's zero bytes, word - 0x20 per byte that of the bytes
  // below 0x20; a borrow only runs from a byte so set to the ones after it.
  return (((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) |
          ((word - kOnes * 0x20) & ~word) | word) &
         kHighs;
}

// The first byte from p on that ends a run of plain JSON string text (see special_bytes); end if
// there is none. 8 bytes at a time, where the first set bit tells which byte it is.
inline const char* skip_plain_string_text(const char* p, const char* end) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    const auto first_special = [](const char* at) {
      std::uint64_t word = 0;
      std::memcpy(&word, at, sizeof word);
      const std::uint64_t special = special_bytes(word);
      return special == 0 ? at + 8 : at + (std::countr_zero(special) >> 3);
    };
    if (end - p >= 8) {
      for (; end - p >= 8; p += 8) {
        if (const char* found = first_special(p); found != p + 8) return found;
      }
      // The last few in one load that overlaps bytes already known to be plain.
      return p == end ? end : first_special(end - 8);
    }
  }
  static constexpr auto kPlain = [] {
    std::array<bool, 256> plain{};
    for (int c = 0x20; c < 0x80; ++c) plain.at(static_cast<std::size_t>(c)) = c != '"' && c != '\\';
    return plain;
  }();
  while (p != end && kPlain.at(static_cast<unsigned char>(*p))) ++p;
  return p;
}

}  // namespace psycache::detail
