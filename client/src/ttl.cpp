#include <cstdio>

#include <psycache/ttl.hpp>

namespace psycache {

std::string Ttl::to_interval() const {
  return std::to_string(microseconds_.count()) + " microseconds";
}

void Ttl::throw_not_finite(long double count) {
  throw InvalidArgument(std::string{"invalid TTL: it is "} + (count != count ? "NaN" : "infinite") +
                        "; a TTL must be finite");
}

void Ttl::throw_overflow(long double seconds) {
  char text[64];
  (void)std::snprintf(text, sizeof text, "%.6Lg", seconds);
  throw InvalidArgument(std::string{"invalid TTL: "} + text +
                        " seconds is out of range; a TTL must fit in 64-bit microseconds "
                        "(about 292,000 years)");
}

}  // namespace psycache
