// Ttl: conversions from durations and integer seconds, and what is refused.
#include <chrono>
#include <cstdint>
#include <limits>

#include <catch2/catch.hpp>

#include <psycache/ttl.hpp>

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using psycache::InvalidArgument;
using psycache::Ttl;

TEST_CASE("A plain integer is a number of seconds") {
  CHECK(Ttl{30}.microseconds() == 30s);
  CHECK(Ttl{std::int64_t{7}}.microseconds() == 7s);
  CHECK(Ttl{0U}.microseconds() == 0s);
}

TEST_CASE("Any std::chrono::duration converts, down to the microsecond") {
  CHECK(Ttl{5min}.microseconds() == 300s);
  CHECK(Ttl{1500ms}.microseconds() == 1500ms);
  CHECK(Ttl{std::chrono::hours{24}}.microseconds() == 86400s);
  CHECK(Ttl{std::chrono::days{2}}.microseconds() == 172800s);
  CHECK(Ttl{1999ns}.microseconds() == 1us);  // truncated
  CHECK(Ttl{-1999ns}.microseconds() == -1us);
}

TEST_CASE("A floating-point duration is rounded to the nearest microsecond") {
  CHECK(Ttl{std::chrono::duration<double>{1.5}}.microseconds() == 1500ms);
  CHECK(Ttl{std::chrono::duration<double>{0.0000016}}.microseconds() == 2us);
  CHECK(Ttl{std::chrono::duration<float, std::milli>{2.5F}}.microseconds() == 2500us);
  CHECK(Ttl{std::chrono::duration<double, std::ratio<3600>>{0.5}}.microseconds() == 30min);
}

TEST_CASE("Zero and negative TTLs are accepted (the entry is stored expired)") {
  CHECK(Ttl{0}.microseconds() == 0us);
  CHECK(Ttl{-10s}.microseconds() == -10s);
}

TEST_CASE("The TTL reaches the server as an interval in microseconds") {
  CHECK(Ttl{90s}.to_interval() == "90000000 microseconds");
  CHECK(Ttl{-1}.to_interval() == "-1000000 microseconds");
  CHECK(Ttl{std::chrono::microseconds::max()}.to_interval() == "9223372036854775807 microseconds");
}

TEST_CASE("A non-finite TTL is refused") {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(Ttl{std::chrono::duration<double>{kNaN}}, Contains("TTL") && Contains("NaN"));
  CHECK_THROWS_WITH(Ttl{std::chrono::duration<double>{kInfinity}}, Contains("infinite"));
  CHECK_THROWS_WITH(Ttl{std::chrono::duration<double>{-kInfinity}}, Contains("infinite"));
  CHECK_THROWS_AS(Ttl{std::chrono::duration<float>{kNaN}}, InvalidArgument);
}

TEST_CASE("A TTL that does not fit in 64-bit microseconds is refused") {
  CHECK_THROWS_WITH(Ttl{std::chrono::seconds::max()}, Contains("out of range"));
  CHECK_THROWS_AS(Ttl{std::chrono::hours{std::numeric_limits<std::int64_t>::max() / 2}},
                  InvalidArgument);
  CHECK_THROWS_AS(Ttl{std::chrono::years{300'000}}, InvalidArgument);
  CHECK_THROWS_AS(Ttl{std::numeric_limits<std::uint64_t>::max()}, InvalidArgument);
  CHECK_THROWS_AS(Ttl{std::chrono::duration<double>{1e300}}, InvalidArgument);
  CHECK_THROWS_AS(Ttl{std::chrono::duration<double>{-1e300}}, InvalidArgument);
  CHECK_THROWS_AS((Ttl{std::chrono::duration<double, std::micro>{9.3e18}}), InvalidArgument);
  // The largest that fits.
  CHECK(Ttl{std::chrono::years{290'000}}.microseconds() > 0us);
}
