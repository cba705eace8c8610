#include "json_writer.hpp"

#include <charconv>
#include <cmath>
#include <cstddef>
#include <string_view>

#include "json_scan.hpp"

namespace psycache::detail {
namespace {

using Json = nlohmann::json;

// This writer recurses once per level; deeper values take value_text's slow path.
constexpr int kMaxDepth = 256;

template <class Integer>
void write_integer(Integer number, std::string& text) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
  text.append(digits, end);
}

// As dump() escapes a string (ensure_ascii off): quote, backslash and control characters.
bool write_string(const std::string& string, std::string& text) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  const char* p = string.data();
  const char* const end = p + string.size();
  text += '"';
  for (;;) {
    const char* run = p;
    for (;;) {
      p = skip_plain_string_text(p, end);
      if (p == end || static_cast<unsigned char>(*p) < 0x80) break;
      const std::size_t length = utf8_sequence_length(p, end);
      if (length == 0) return false;
      p += length;
    }
    text.append(run, p);
    if (p == end) break;
    const char c = *p++;
    switch (c) {
      case '\0':
        return false;
      case '"':
        text += "\\\"";
        break;
      case '\\':
        text += "\\\\";
        break;
      case '\b':
        text += "\\b";
        break;
      case '\f':
        text += "\\f";
        break;
      case '\n':
        text += "\\n";
        break;
      case '\r':
        text += "\\r";
        break;
      case '\t':
        text += "\\t";
        break;
      default:
        text += "\\u00";
        text += kHex[static_cast<unsigned char>(c) >> 4];
        text += kHex[static_cast<unsigned char>(c) & 0xF];
    }
  }
  text += '"';
  return true;
}

bool write(const Json& value, std::string& text, int depth) {
  switch (value.type()) {
    case Json::value_t::null:
      text += "null";
      return true;
    case Json::value_t::boolean:
      text += value.get_ref<const Json::boolean_t&>() ? "true" : "false";
      return true;
    case Json::value_t::number_integer:
      write_integer(value.get_ref<const Json::number_integer_t&>(), text);
      return true;
    case Json::value_t::number_unsigned:
      write_integer(value.get_ref<const Json::number_unsigned_t&>(), text);
      return true;
    case Json::value_t::number_float: {
      const double number = value.get_ref<const Json::number_float_t&>();
      if (!std::isfinite(number)) return false;
      // dump()'s own shortest form (Grisu2, ".0" on whole numbers): the server stores the
      // decimal digits as they are, so they must not change.
      char digits[64];
      text.append(digits, nlohmann::detail::to_chars(digits, digits + sizeof digits, number));
      return true;
    }
    case Json::value_t::string:
      return write_string(value.get_ref<const Json::string_t&>(), text);
    case Json::value_t::array: {
      if (++depth > kMaxDepth) return false;
      text += '[';
      bool first = true;
      for (const Json& element : value.get_ref<const Json::array_t&>()) {
        if (!first) text += ',';
        first = false;
        if (!write(element, text, depth)) return false;
      }
      text += ']';
      return true;
    }
    case Json::value_t::object: {
      if (++depth > kMaxDepth) return false;
      text += '{';
      bool first = true;
      for (const auto& [name, element] : value.get_ref<const Json::object_t&>()) {
        if (!first) text += ',';
        first = false;
        if (!write_string(name, text)) return false;
        text += ':';
        if (!write(element, text, depth)) return false;
      }
      text += '}';
      return true;
    }
    default:  // binary, discarded
      return false;
  }
}

}  // namespace

bool write_storable_json(const nlohmann::json& value, std::string& text) {
  return write(value, text, 0);
}

}  // namespace psycache::detail
