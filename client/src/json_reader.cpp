#include "json_reader.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>

#include "json_scan.hpp"

namespace psycache::detail {
namespace {

using Json = nlohmann::json;

// Deeper values go to nlohmann::json::parse, which keeps its own stack on the heap: this reader
// recurses once per level, and must not exhaust a small thread stack.
constexpr int kMaxDepth = 256;

// A recursive descent over the text that gives up (returns false) on whatever it does not take
// exactly as nlohmann::json::parse does; read_json then asks nlohmann_json.
class Reader {
 public:
  Reader(const char* begin, const char* end) noexcept : p_(begin), end_(end) {}

  bool document(Json& out) {
    skip_whitespace();
    if (!value(out, 0)) return false;
    skip_whitespace();
    return p_ == end_;
  }

 private:
  void skip_whitespace() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool value(Json& out, int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{':
        return object(out, depth + 1);
      case '[':
        return array(out, depth + 1);
      case '"':
        ++p_;
        out = Json::value_t::string;
        return string(*out.get_ptr<Json::string_t*>());
      case 't':
        if (!literal("true", 4)) return false;
        out = true;
        return true;
      case 'f':
        if (!literal("false", 5)) return false;
        out = false;
        return true;
      case 'n':
        if (!literal("null", 4)) return false;
        out = nullptr;
        return true;
      default:
        return number(out);
    }
  }

  bool literal(const char* word, std::size_t length) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < length || std::memcmp(p_, word, length) != 0) {
      return false;
    }
    p_ += length;
    return true;
  }

  // After '{'. A key given twice keeps its last value, as in nlohmann_json's parser (jsonb has
  // no duplicate keys).
  bool object(Json& out, int depth) {
    if (depth > kMaxDepth) return false;
    ++p_;
    out = Json::value_t::object;
    auto& members = *out.get_ptr<Json::object_t*>();
    skip_whitespace();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    std::string key;
    for (;;) {
      if (p_ == end_ || *p_ != '"') return false;
      ++p_;
      key.clear();
      if (!string(key)) return false;
      skip_whitespace();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      skip_whitespace();
      if (!value(members[key], depth)) return false;
      skip_whitespace();
      if (p_ == end_) return false;
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      skip_whitespace();
    }
  }

  // After '['.
  bool array(Json& out, int depth) {
    if (depth > kMaxDepth) return false;
    ++p_;
    out = Json::value_t::array;
    auto& elements = *out.get_ptr<Json::array_t*>();
    skip_whitespace();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      if (!value(elements.emplace_back(), depth)) return false;
      skip_whitespace();
      if (p_ == end_) return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      skip_whitespace();
    }
  }

  // After the opening quote: appends the string's characters to out, up to the closing quote.
  bool string(std::string& out) {
    for (;;) {
      const char* run = p_;
      for (;;) {
        p_ = skip_plain_string_text(p_, end_);
        if (p_ == end_ || static_cast<unsigned char>(*p_) < 0x80) break;
        const std::size_t length = utf8_sequence_length(p_, end_);
        if (length == 0) return false;
        p_ += length;
      }
      out.append(run, p_);
      if (p_ == end_) return false;
      if (*p_ == '"') {
        ++p_;
        return true;
      }
      if (*p_ != '\\' || !escape(out)) return false;  // a control character, or a bad escape
    }
  }

  // At a backslash.
  bool escape(std::string& out) {
    if (end_ - p_ < 2) return false;
    const char kind = p_[1];
    p_ += 2;
    switch (kind) {
      case '"':
      case '\\':
      case '/':
        out += kind;
        return true;
      case 'b':
        out += '\b';
        return true;
      case 'f':
        out += '\f';
        return true;
      case 'n':
        out += '\n';
        return true;
      case 'r':
        out += '\r';
        return true;
      case 't':
        out += '\t';
        return true;
      case 'u':
        return unicode_escape(out);
      default:
        return false;
    }
  }

  // After "\u": one code point, two escapes for a surrogate pair, as UTF-8.
  bool unicode_escape(std::string& out) {
    std::uint32_t code = 0;
    if (!hex4(code) || (code >= 0xDC00 && code <= 0xDFFF)) return false;
    if (code >= 0xD800 && code <= 0xDBFF) {
      std::uint32_t low = 0;
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
      p_ += 2;
      if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
    return true;
  }

  bool hex4(std::uint32_t& code) noexcept {
    if (end_ - p_ < 4) return false;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      std::uint32_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
      code = code << 4 | digit;
    }
    return true;
  }

  bool digit_here() const noexcept { return p_ != end_ && *p_ >= '0' && *p_ <= '9'; }

  void skip_digits() noexcept {
    while (digit_here()) ++p_;
  }

  // JSON's number grammar, typed as nlohmann_json types it: an integer without '-' that fits
  // 64 bits is unsigned, with '-' one that fits is signed, everything else a double (rounded as
  // strtod rounds, which from_chars does too). Out of double's range goes to nlohmann_json,
  // whose error (or underflow to 0) is the answer.
  bool number(Json& out) {
    const char* const start = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (!digit_here()) return false;
    std::uint64_t magnitude = 0;
    bool overflow = false;
    if (*p_ == '0') {
      ++p_;
    } else {
      for (; digit_here(); ++p_) {
        const auto digit = static_cast<std::uint64_t>(*p_ - '0');
        if (magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) overflow = true;
        if (!overflow) magnitude = magnitude * 10 + digit;
      }
    }
    bool integral = true;
    if (p_ != end_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (!digit_here()) return false;
      skip_digits();
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digit_here()) return false;
      skip_digits();
    }
    if (integral && !overflow) {
      constexpr std::uint64_t kMinMagnitude = std::uint64_t{1} << 63;  // of int64's minimum
      if (!negative) {
        out = static_cast<Json::number_unsigned_t>(magnitude);
        return true;
      }
      if (magnitude <= kMinMagnitude) {
        out = magnitude == kMinMagnitude ? std::numeric_limits<Json::number_integer_t>::min()
                                         : -static_cast<Json::number_integer_t>(magnitude);
        return true;
      }
    }
    double number = 0;
    const auto [end, error] = std::from_chars(start, p_, number);
    if (error != std::errc{} || end != p_ || !std::isfinite(number)) return false;
    out = number;
    return true;
  }

  const char* p_;
  const char* const end_;
};

}  // namespace

bool try_read_json(std::string_view text, nlohmann::json& out) {
  return Reader{text.data(), text.data() + text.size()}.document(out);
}

nlohmann::json read_json(std::string_view text) {
  Json value;
  if (try_read_json(text, value)) return value;
  return Json::parse(text.data(), text.data() + text.size());
}

}  // namespace psycache::detail
