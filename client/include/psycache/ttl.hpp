// Ttl: how long a cache entry lives, as accepted by PostgresCache::put_raw.
//
// A Ttl converts implicitly from any std::chrono::duration (integral or
// floating-point representation) and from a plain integer number of seconds,
// so callers write `cache.put_raw(key, value, 30)`,
// `cache.put_raw(key, value, std::chrono::minutes{5})` or
// `cache.put_raw(key, value, std::chrono::duration<double>{1.5})`.
//
// The server keeps time in microseconds: finer durations are truncated toward
// zero, floating-point ones rounded to the nearest microsecond. Zero and
// negative TTLs are accepted; such an entry is stored already expired (a get
// misses it, cleanup_expired deletes it).
//
// Errors: the conversion throws InvalidArgument for a NaN or infinite duration
// and for one that does not fit in 64-bit microseconds (about ±292,000 years).
// A TTL that fits but makes the expiry run past PostgreSQL's last timestamp
// (year 294276) is refused by the server, also with InvalidArgument.
//
// Thread-safety: a Ttl is an immutable value.
#pragma once

#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <ratio>
#include <string>
#include <type_traits>

#include <psycache/errors.hpp>

namespace psycache {

namespace detail {
// The representation of a duration a Ttl accepts: any integer or floating type.
template <class Rep>
concept DurationRep = std::is_arithmetic_v<Rep>;
// A plain number of seconds: any integer type but bool.
template <class Seconds>
concept IntegerSeconds = std::integral<Seconds> && !std::same_as<Seconds, bool>;
}  // namespace detail

class Ttl {
 public:
  // Any std::chrono::duration: seconds, minutes, milliseconds, duration<double>…
  template <detail::DurationRep Rep, class Period>
  Ttl(std::chrono::duration<Rep, Period> duration)  // NOLINT(google-explicit-constructor)
      : microseconds_(to_microseconds(duration)) {}

  // A plain integer number of seconds.
  template <detail::IntegerSeconds Seconds>
  Ttl(Seconds seconds)  // NOLINT(google-explicit-constructor)
      : microseconds_(to_microseconds(std::chrono::duration<Seconds>{seconds})) {}

  // The TTL in whole microseconds, the server's resolution.
  [[nodiscard]] constexpr std::chrono::microseconds microseconds() const noexcept {
    return microseconds_;
  }

  // The TTL as PostgreSQL interval input, e.g. "1500000 microseconds".
  [[nodiscard]] std::string to_interval() const;

  friend bool operator==(Ttl, Ttl) noexcept = default;

 private:
  __extension__ typedef __int128 Int128;  // NOLINT(modernize-use-using)

  [[noreturn]] static void throw_not_finite(long double count);
  [[noreturn]] static void throw_overflow(long double seconds);

  template <class Rep, class Period>
  static std::chrono::microseconds to_microseconds(std::chrono::duration<Rep, Period> duration) {
    // Microseconds per tick, as a fraction.
    using PerTick = std::ratio_divide<Period, std::micro>;
    constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    const Rep count = duration.count();
    if constexpr (std::is_floating_point_v<Rep>) {
      const long double micros = static_cast<long double>(count) * PerTick::num / PerTick::den;
      if (!std::isfinite(micros)) throw_not_finite(static_cast<long double>(count));
      // 2^63 is exact in long double; anything at or past it does not fit.
      constexpr long double kLimit = 9223372036854775808.0L;
      if (micros >= kLimit || micros < -kLimit) throw_overflow(micros / 1e6L);
      const long double rounded = std::round(micros);
      if (rounded >= kLimit) throw_overflow(micros / 1e6L);
      return std::chrono::microseconds{static_cast<std::int64_t>(rounded)};
    } else {
      // 128-bit arithmetic is exact for any 64-bit count times any std::ratio
      // a duration uses in practice (up to 2^63 microseconds per tick).
      const Int128 micros = static_cast<Int128>(count) * PerTick::num / PerTick::den;
      if (micros > kMax || micros < kMin) {
        throw_overflow(static_cast<long double>(micros) / 1e6L);
      }
      return std::chrono::microseconds{static_cast<std::int64_t>(micros)};
    }
  }

  std::chrono::microseconds microseconds_;
};

}  // namespace psycache
