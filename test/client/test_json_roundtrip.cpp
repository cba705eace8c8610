// JSON round trips through jsonb, and what jsonb normalizes.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <psycache/psycache.hpp>

#include "support/test_db.hpp"

using nlohmann::json;
using psycache::test::query_value;

namespace {

// Random JSON documents, reproducible from a seed.
class DocumentGenerator {
 public:
  explicit DocumentGenerator(std::uint64_t seed) : random_(seed) {}

  json document() { return value(0); }

 private:
  json value(int depth) {
    const int kind = pick(0, depth >= 4 ? 6 : 8);
    switch (kind) {
      case 0:
        return nullptr;
      case 1:
        return pick(0, 1) == 1;
      case 2:
        return signed_integer();
      case 3:
        return unsigned_integer();
      case 4:
      case 5:
        return floating();
      case 6:
        return text();
      case 7: {
        json array = json::array();
        for (int i = pick(0, 6); i > 0; --i) array.push_back(value(depth + 1));
        return array;
      }
      default: {
        json object = json::object();
        for (int i = pick(0, 6); i > 0; --i) object[text()] = value(depth + 1);
        return object;
      }
    }
  }

  std::int64_t signed_integer() {
    using Limits = std::numeric_limits<std::int64_t>;
    switch (pick(0, 4)) {
      case 0:
        return pick(0, 1) == 1 ? Limits::max() : Limits::min();
      case 1:
        return pick(-1000, 1000);
      case 2:
        return std::uniform_int_distribution<std::int64_t>{}(random_);
      default:
        // Around the edges of the smaller integer types and of doubles.
        return (std::int64_t{1} << pick(1, 62)) + pick(-2, 2);
    }
  }

  std::uint64_t unsigned_integer() {
    if (pick(0, 3) == 0) return std::numeric_limits<std::uint64_t>::max();
    // Beyond what int64 holds: 2^63 and up.
    return (std::uint64_t{1} << 63U) +
           std::uniform_int_distribution<std::uint64_t>{
               0, std::numeric_limits<std::uint64_t>::max() >> 1U}(random_);
  }

  double floating() {
    switch (pick(0, 9)) {
      case 0:
        return pick(0, 1) == 1 ? 0.0 : -0.0;
      case 1:
        return std::numeric_limits<double>::max();
      case 2:
        return std::numeric_limits<double>::denorm_min();
      case 3:
        return std::numeric_limits<double>::min();
      case 4:
        return static_cast<double>(pick(-100000, 100000)) / 8.0;  // integral ones included
      case 5:
        return 0.1 * pick(1, 9) + 0.2;
      case 6:
        // Integers beyond uint64, which only a double holds.
        return std::ldexp(1.0 + pick(0, 1000) / 1000.0, pick(64, 300));
      default: {
        // Any finite double, from its bits.
        for (;;) {
          const auto d =
              std::bit_cast<double>(std::uniform_int_distribution<std::uint64_t>{}(random_));
          if (std::isfinite(d)) return d;
        }
      }
    }
  }

  std::string text() {
    std::string s;
    for (int i = pick(0, 12); i > 0; --i) {
      switch (pick(0, 5)) {
        case 0:
          s += static_cast<char>(pick(0x20, 0x7e));
          break;
        case 1: {
          // Characters JSON escapes: quote, backslash, slash, controls except NUL.
          static constexpr std::string_view kEscaped = "\"\\/\b\f\n\r\t\x01\x1f";
          s +=
              kEscaped.at(static_cast<std::size_t>(pick(0, static_cast<int>(kEscaped.size()) - 1)));
          break;
        }
        case 2:
          append_utf8(s, static_cast<char32_t>(pick(0x80, 0x7ff)));
          break;
        case 3: {
          auto c = static_cast<char32_t>(pick(0x800, 0xfffd));
          if (c >= 0xd800 && c <= 0xdfff) c = 0x20ac;  // no surrogates
          append_utf8(s, c);
          break;
        }
        default:
          append_utf8(s, static_cast<char32_t>(pick(0x10000, 0x10ffff)));
      }
    }
    return s;
  }

  static void append_utf8(std::string& s, char32_t c) {
    if (c < 0x80) {
      s += static_cast<char>(c);
    } else if (c < 0x800) {
      s += static_cast<char>(0xc0 | (c >> 6));
      s += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      s += static_cast<char>(0xe0 | (c >> 12));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (c >> 18));
      s += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (c & 0x3f));
    }
  }

  int pick(int low, int high) { return std::uniform_int_distribution<int>{low, high}(random_); }

  std::mt19937_64 random_;
};

struct Fixture {
  Fixture() { psycache::test::reset_extension(); }
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool, {.max_value_bytes = 0}};

  // Stores json_text as another client would (psql), and reads it back.
  json through_sql(const std::string& json_text) {
    const auto connection = psycache::test::connect();
    pqxx::nontransaction transaction{*connection};
    transaction.exec_params("SELECT public.psycache_put('sql', $1::jsonb, '1 minute')", json_text);
    return *cache.get_raw("sql");
  }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "1,000 random documents come back equal") {
  constexpr std::uint64_t kSeed = 20240611;
  DocumentGenerator generator{kSeed};
  for (int i = 0; i < 1000; ++i) {
    const json document = generator.document();
    const std::string key = "doc:" + std::to_string(i);
    cache.put_raw(key, document, 600);
    const std::optional<json> back = cache.get_raw(key);
    REQUIRE(back);
    INFO("seed " << kSeed << ", document " << i << ": " << document.dump());
    INFO("came back as: " << back->dump());
    REQUIRE(*back == document);
  }
}

TEST_CASE_METHOD(Fixture, "Integers keep their exact value up to the limits of int64 and uint64") {
  const json limits = {{"int64_max", std::numeric_limits<std::int64_t>::max()},
                       {"int64_min", std::numeric_limits<std::int64_t>::min()},
                       {"uint64_max", std::numeric_limits<std::uint64_t>::max()}};
  cache.put_raw("limits", limits, 60);
  const json back = *cache.get_raw("limits");
  CHECK(back == limits);
  CHECK(back["int64_max"].get<std::int64_t>() == std::numeric_limits<std::int64_t>::max());
  CHECK(back["int64_min"].get<std::int64_t>() == std::numeric_limits<std::int64_t>::min());
  CHECK(back["uint64_max"].get<std::uint64_t>() == std::numeric_limits<std::uint64_t>::max());
  CHECK(back["uint64_max"].is_number_unsigned());
}

TEST_CASE_METHOD(Fixture, "jsonb normalizes numbers: the value stays, the spelling changes") {
  // Another client's spelling; nlohmann_json itself never writes most of these.
  const json back = through_sql(
      R"({"one_point_zero": 1.0, "exponent": 1e3, "small": 1.5e-7, "minus_zero": -0,
          "big": 123456789012345678901234567890})");
  // The decimal point stays: still a double.
  CHECK(back["one_point_zero"].is_number_float());
  // An exponent is spelled out: an integral value comes back as an integer.
  CHECK(back["exponent"].is_number_integer());
  CHECK(back["exponent"] == 1000);
  CHECK(back["small"] == 1.5e-7);
  CHECK(back["minus_zero"] == 0);
  // Beyond uint64, nlohmann_json can only hold a double: precision is lost.
  CHECK(back["big"].is_number_float());
  CHECK(back["big"].get<double>() == 123456789012345678901234567890.0);
  // A double nlohmann_json writes with an exponent comes back as an integer when integral.
  cache.put_raw("double", json(1e16), 60);
  const json double_back = *cache.get_raw("double");
  CHECK(double_back == 1e16);
  CHECK(double_back.is_number_integer());
  // The stored text, as every client sees it.
  CHECK(*query_value("SELECT value::text FROM public.psycache WHERE key = 'double'") ==
        "10000000000000000");
}

TEST_CASE_METHOD(Fixture, "A stored number beyond the range of double is a ConversionError") {
  // Valid JSON and valid jsonb, from another client; nlohmann_json cannot hold it.
  try {
    (void)through_sql(R"({"huge": 1e400})");
    FAIL("no error");
  } catch (const psycache::ConversionError& e) {
    CHECK_THAT(e.what(), Catch::Matchers::Contains("key \"sql\"") &&
                             Catch::Matchers::Contains("number overflow"));
    CHECK(std::string{e.what()}.size() < 400);
  }
  // The entry can be overwritten.
  cache.put_raw("sql", json{{"huge", 1e300}}, 60);
  CHECK(cache.get_raw("sql") == json{{"huge", 1e300}});
}

TEST_CASE_METHOD(Fixture, "jsonb keeps the last of duplicate keys and orders keys its own way") {
  const json back = through_sql(R"({"b": 1, "a": 1, "a": 2, "ccc": 3, "dd": 4})");
  CHECK(back == json{{"a", 2}, {"b", 1}, {"ccc", 3}, {"dd", 4}});
  // Shorter keys first, then bytewise: not the order of insertion.
  CHECK(*query_value("SELECT value::text FROM public.psycache WHERE key = 'sql'") ==
        R"({"a": 2, "b": 1, "dd": 4, "ccc": 3})");
  // Ordered JSON sees that order.
  const auto ordered = nlohmann::ordered_json::parse(
      *query_value("SELECT value::text FROM public.psycache WHERE key = 'sql'"));
  std::string keys;
  for (const auto& [key, value] : ordered.items()) keys += key + " ";
  CHECK(keys == "a b dd ccc ");
}

TEST_CASE_METHOD(Fixture, "jsonb normalizes string escapes to the characters they mean") {
  const json back = through_sql(R"({"s": "caf\u00e9 \ud83d\ude00 \/ \" \\ \t"})");
  CHECK(back["s"] == "caf\xc3\xa9 \xf0\x9f\x98\x80 / \" \\ \t");
}
