#include "ttl_argument.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <ratio>
#include <string>
#include <system_error>

#include <psycache/errors.hpp>

#include "command_line.hpp"

namespace psycache::cli {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The end of the run of digits in text that starts at pos.
std::size_t skip_digits(std::string_view text, std::size_t pos) {
  while (pos < text.size() && is_digit(text[pos])) ++pos;
  return pos;
}

// Thrown for a number too large to convert, whatever its unit.
struct TooLong {};

// number (digits, with a fraction when fractional) in units of Period.
template <class Period>
Ttl ttl_in(std::string_view number, bool fractional) {
  const char* const first = number.data();
  const char* const last = first + number.size();
  if (fractional) {
    double count = 0;
    if (std::from_chars(first, last, count).ec != std::errc{}) throw TooLong{};
    return Ttl{std::chrono::duration<double, Period>{count}};
  }
  std::uint64_t count = 0;
  if (std::from_chars(first, last, count).ec != std::errc{}) throw TooLong{};
  return Ttl{std::chrono::duration<std::uint64_t, Period>{count}};
}

}  // namespace

Ttl parse_ttl(std::string_view text) {
  const std::string quoted = "'" + std::string{text} + "'";
  const std::size_t integer_end = skip_digits(text, 0);
  std::size_t number_end = integer_end;
  const bool fractional = integer_end < text.size() && text[integer_end] == '.';
  if (fractional) number_end = skip_digits(text, integer_end + 1);
  const bool well_formed = integer_end > 0 && (!fractional || number_end > integer_end + 1);

  const std::string_view number = text.substr(0, number_end);
  const std::string_view unit = text.substr(number_end);
  bool too_long = false;
  try {
    if (well_formed) {
      if (unit.empty() || unit == "s") return ttl_in<std::ratio<1>>(number, fractional);
      if (unit == "ms") return ttl_in<std::milli>(number, fractional);
      if (unit == "m") return ttl_in<std::ratio<60>>(number, fractional);
      if (unit == "h") return ttl_in<std::ratio<3600>>(number, fractional);
      if (unit == "d") return ttl_in<std::ratio<86400>>(number, fractional);
    }
  } catch (const TooLong&) {
    too_long = true;
  } catch (const InvalidArgument&) {  // it does not fit in 64-bit microseconds
    too_long = true;
  }
  if (too_long) {
    throw UsageError("invalid --ttl " + quoted +
                     ": it is too long for a TTL (the limit is about 292,000 years)");
  }
  throw UsageError("invalid --ttl " + quoted +
                   ": expected a number of seconds, or a number with a unit (ms, s, m, h, d), "
                   "e.g. 30, 5m, 1.5h");
}

}  // namespace psycache::cli
