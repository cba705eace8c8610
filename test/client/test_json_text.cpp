// The JSON text of values: read_json gives exactly what nlohmann::json::parse gives (value,
// value types, float bits, errors) for the server's jsonb output and for any other text, and
// write_storable_json writes exactly what dump() writes, or leaves the value to the slow path.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <psycache/async.hpp>
#include <psycache/psycache.hpp>

#include "cache_common.hpp"
#include "json_reader.hpp"
#include "json_writer.hpp"
#include "support/test_db.hpp"

using nlohmann::json;
using psycache::detail::read_json;
using psycache::detail::write_storable_json;

namespace {

// Whether a and b are the same down to their value types and the bits of their doubles
// (json's == takes 1 and 1u and 1.0 for equal, and 0.0 for -0.0). Without recursion: the values
// may be nested 100,000 deep.
bool identical(const json& a, const json& b) {
  std::vector<std::pair<const json*, const json*>> pending{{&a, &b}};
  while (!pending.empty()) {
    const auto [x, y] = pending.back();
    pending.pop_back();
    if (x->type() != y->type()) return false;
    switch (x->type()) {
      case json::value_t::number_float:
        if (std::bit_cast<std::uint64_t>(x->get<double>()) !=
            std::bit_cast<std::uint64_t>(y->get<double>())) {
          return false;
        }
        break;
      case json::value_t::array: {
        const auto& xs = x->get_ref<const json::array_t&>();
        const auto& ys = y->get_ref<const json::array_t&>();
        if (xs.size() != ys.size()) return false;
        for (std::size_t i = 0; i < xs.size(); ++i) pending.emplace_back(&xs[i], &ys[i]);
        break;
      }
      case json::value_t::object: {
        const auto& xs = x->get_ref<const json::object_t&>();
        const auto& ys = y->get_ref<const json::object_t&>();
        if (xs.size() != ys.size()) return false;
        for (auto i = xs.begin(), j = ys.begin(); i != xs.end(); ++i, ++j) {
          if (i->first != j->first) return false;
          pending.emplace_back(&i->second, &j->second);
        }
        break;
      }
      default:
        if (*x != *y) return false;
    }
  }
  return true;
}

// text shown in a message: bytes that are not printable ASCII as \xNN, long text shortened.
std::string printable(std::string_view text) {
  std::string shown;
  for (const char c : text.substr(0, 300)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      shown += c;
    } else {
      static constexpr std::string_view kHex = "0123456789abcdef";
      shown += "\\x";
      shown += kHex[byte >> 4];
      shown += kHex[byte & 0xf];
    }
  }
  if (text.size() > 300) shown += "... (" + std::to_string(text.size()) + " bytes)";
  return shown;
}

// read_json(text) gives what nlohmann::json::parse(text) gives: the same value, or an exception
// with the same message (which names its type). So does the reader alone where it takes the
// text; returns whether it did, rather than leave the text to nlohmann::json::parse.
bool require_read_as_nlohmann(std::string_view text) {
  INFO("text: " << printable(text));
  json expected;
  std::string expected_error;
  try {
    expected = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    expected_error = e.what();
  }
  json alone;
  const bool taken = psycache::detail::try_read_json(text, alone);
  if (!expected_error.empty()) {
    INFO("nlohmann_json: " << expected_error);
    REQUIRE_FALSE(taken);
    try {
      (void)read_json(text);
      FAIL("read_json took what nlohmann::json::parse refuses");
    } catch (const json::exception& e) {
      REQUIRE(std::string{e.what()} == expected_error);
    }
    return false;
  }
  const json read = read_json(text);
  if (!identical(read, expected)) {
    FAIL("nlohmann_json: " << expected.dump() << ", read_json: " << read.dump());
  }
  if (taken && !identical(alone, expected)) {
    FAIL("nlohmann_json: " << expected.dump() << ", the reader alone: " << alone.dump());
  }
  return taken;
}

// Random JSON text: the number forms, escapes and whitespace a person or another client may
// send, and deep or wide structures; reproducible from a seed.
class TextGenerator {
 public:
  explicit TextGenerator(std::uint64_t seed) : random_(seed) {}

  // nul: whether strings may hold \u0000, which jsonb refuses.
  std::string document(bool nul) {
    nul_ = nul;
    std::string text;
    space(text);
    value(text, 0);
    space(text);
    return text;
  }

 private:
  void value(std::string& text, int depth) {
    switch (pick(0, depth >= 5 ? 5 : 7)) {
      case 0:
        text += std::vector<const char*>{"null", "true", "false"}.at(pick(0, 2));
        return;
      case 1:
      case 2:
        number(text);
        return;
      case 3:
      case 4:
      case 5:
        string(text);
        return;
      case 6:
        text += '[';
        space(text);
        for (int i = pick(0, 5), first = 1; i > 0; --i, first = 0) {
          if (first == 0) comma(text);
          value(text, depth + 1);
        }
        space(text);
        text += ']';
        return;
      default:
        text += '{';
        space(text);
        for (int i = pick(0, 5), first = 1; i > 0; --i, first = 0) {
          if (first == 0) comma(text);
          string(text);
          space(text);
          text += ':';
          space(text);
          value(text, depth + 1);
        }
        space(text);
        text += '}';
    }
  }

  void number(std::string& text) {
    if (pick(0, 1) == 1) text += '-';
    switch (pick(0, 5)) {
      case 0:
        text += std::to_string(pick(0, 1000));
        return;
      case 1: {
        // Around 2^63 and 2^64, and past them.
        static const std::vector<const char*> edges = {"9223372036854775807",
                                                       "9223372036854775808",
                                                       "9223372036854775809",
                                                       "18446744073709551615",
                                                       "18446744073709551616",
                                                       "99999999999999999999",
                                                       "4294967296",
                                                       "0",
                                                       "123456789012345678901234567890"};
        text += edges.at(static_cast<std::size_t>(pick(0, static_cast<int>(edges.size()) - 1)));
        return;
      }
      case 2:
        // Many digits: up to 400 of them, beyond double's range at the top.
        text += std::to_string(pick(1, 9));
        for (int i = pick(0, 1) == 1 ? pick(0, 40) : pick(300, 400); i > 0; --i) digit(text);
        return;
      default:
        text += pick(0, 3) == 0 ? "0" : std::to_string(pick(1, 99999));
        if (pick(0, 2) != 0) {
          text += '.';
          for (int i = pick(1, 20); i > 0; --i) digit(text);
        }
        if (pick(0, 1) == 1) {
          text += pick(0, 1) == 1 ? 'e' : 'E';
          if (pick(0, 2) != 0) text += pick(0, 1) == 1 ? '+' : '-';
          // Mostly in double's range; sometimes past it, or below its smallest number.
          text += std::to_string(pick(0, 9) == 0 ? pick(300, 330) : pick(0, 40));
        }
    }
  }

  void digit(std::string& text) { text += static_cast<char>('0' + pick(0, 9)); }

  // A string whose length crosses the reader's 8-byte steps, every kind of character in it, some
  // of them escaped.
  void string(std::string& text) {
    text += '"';
    for (int i = pick(0, 1) == 1 ? pick(0, 10) : pick(0, 40); i > 0; --i) {
      switch (pick(0, 9)) {
        case 0: {
          static const std::vector<const char*> escapes = {"\\\"", "\\\\", "\\/", "\\b",    "\\f",
                                                           "\\n",  "\\r",  "\\t", "\\u001f"};
          text += escapes.at(static_cast<std::size_t>(pick(0, 8)));
          break;
        }
        case 1: {
          auto c = static_cast<char32_t>(pick(nul_ ? 0 : 1, 0x10ffff));
          if (c >= 0xd800 && c <= 0xdfff) c = 0x7f;
          escaped(text, c);
          break;
        }
        case 2:
          utf8(text, static_cast<char32_t>(pick(0x80, 0x7ff)));
          break;
        case 3: {
          auto c = static_cast<char32_t>(pick(0x800, 0xffff));
          if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
          utf8(text, c);
          break;
        }
        case 4:
          utf8(text, static_cast<char32_t>(pick(0x10000, 0x10ffff)));
          break;
        default:
          text += static_cast<char>(pick(0x20, 0x7f));
          if (text.back() == '"' || text.back() == '\\') text.back() = 'x';
      }
    }
    text += '"';
  }

  // c as \uXXXX, or as a surrogate pair of them, in upper or lower case hex digits.
  void escaped(std::string& text, char32_t c) {
    const char* hex = pick(0, 1) == 1 ? "0123456789abcdef" : "0123456789ABCDEF";
    const auto unit = [&](std::uint32_t u) {
      text += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) text += hex[(u >> shift) & 0xf];
    };
    if (c < 0x10000) {
      unit(c);
    } else {
      unit(0xd800 + ((c - 0x10000) >> 10));
      unit(0xdc00 + ((c - 0x10000) & 0x3ff));
    }
  }

  static void utf8(std::string& text, char32_t c) {
    if (c < 0x800) {
      text += static_cast<char>(0xc0 | (c >> 6));
      text += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      text += static_cast<char>(0xe0 | (c >> 12));
      text += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      text += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      text += static_cast<char>(0xf0 | (c >> 18));
      text += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      text += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      text += static_cast<char>(0x80 | (c & 0x3f));
    }
  }

  void comma(std::string& text) {
    space(text);
    text += ',';
    space(text);
  }

  // Mostly none, as in compact text; sometimes what a person writes.
  void space(std::string& text) {
    if (pick(0, 3) != 0) return;
    static constexpr std::string_view kSpace = " \t\n\r";
    for (int i = pick(1, 3); i > 0; --i) text += kSpace.at(static_cast<std::size_t>(pick(0, 3)));
  }

  int pick(int low, int high) { return std::uniform_int_distribution<int>{low, high}(random_); }

  std::mt19937_64 random_;
  bool nul_ = false;
};

std::string repeated(std::string_view part, int times) {
  std::string text;
  for (int i = 0; i < times; ++i) text += part;
  return text;
}

}  // namespace

TEST_CASE("read_json reads numbers as nlohmann_json types and rounds them") {
  for (const char* text : {"0",
                           "-0",
                           "1",
                           "-1",
                           "4711",
                           "-4711",
                           "9223372036854775807",
                           "9223372036854775808",
                           "-9223372036854775808",
                           "-9223372036854775809",
                           "18446744073709551615",
                           "18446744073709551616",
                           "-18446744073709551616",
                           "123456789012345678901234567890",
                           "0.0",
                           "-0.0",
                           "1.0",
                           "0.1",
                           "-0.1",
                           "3.141592653589793",
                           "0.30000000000000004",
                           "1e5",
                           "1E5",
                           "1e+5",
                           "1e-5",
                           "-1.5E-300",
                           "1.7976931348623157e308",
                           "1.7976931348623158e308",
                           "2.2250738585072014e-308",
                           "2.2250738585072011e-308",
                           "4.9e-324",
                           "2.4e-324",
                           "1e-400",
                           "-1e-400",
                           "1.8e308",
                           "1e400",
                           "-1e400",
                           "0.000000000000000000000000000001",
                           "00",
                           "01",
                           "-01",
                           "-",
                           "+1",
                           ".5",
                           "1.",
                           "1.e5",
                           "1e",
                           "1e+",
                           "0x10",
                           "NaN",
                           "Infinity",
                           "-Infinity",
                           "1 2",
                           "[0.5, 1e2, -0, 18446744073709551616]"}) {
    require_read_as_nlohmann(text);
  }
  // The 400-digit integers jsonb prints for 1e399, and one that fits a double.
  require_read_as_nlohmann("1" + std::string(399, '0'));
  require_read_as_nlohmann("-1" + std::string(300, '0') + ".5");
  require_read_as_nlohmann("0." + std::string(400, '0') + "1");
}

TEST_CASE("read_json reads strings, escapes and UTF-8 as nlohmann_json does") {
  for (const char* text : {R"("")",
                           R"("plain")",
                           R"("a\"b\\c\/d\be\ff\ng\rh\ti")",
                           R"("\u0000")",
                           R"("\u001f")",
                           R"("\u00e9\u20AC\uFFFD")",
                           R"("\ud83d\ude00")",
                           R"("\uD83D\uDE00")",
                           R"("\ud83d")",
                           R"("\ude00")",
                           R"("\ud83d\u0041")",
                           R"("\ud83d\\")",
                           R"("\ud83dx")",
                           R"("\u12")",
                           R"("\u12g4")",
                           R"("\x")",
                           R"("\)",
                           R"("unterminated)",
                           "\"tab\tinside\"",
                           "\"nul\x01inside\"",
                           "\"del \x7f\"",
                           "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
                           "\"\xc0\x80\"",
                           "\"\xc1\xbf\"",
                           "\"\xe0\x80\xaf\"",
                           "\"\xed\xa0\x80\"",
                           "\"\xf4\x90\x80\x80\"",
                           "\"\xf5\x80\x80\x80\"",
                           "\"\xe2\x82\"",
                           "\"\xe2\x82",
                           "\"\x80\"",
                           "\"\xff\"",
                           "\"\xf0\x9f\x98\""}) {
    require_read_as_nlohmann(text);
  }
  // A quote, a backslash escape, a control character and a UTF-8 sequence at every offset of
  // the 8-byte steps.
  for (int offset = 0; offset < 20; ++offset) {
    const std::string pad(static_cast<std::size_t>(offset), 'x');
    for (const char* special : {"\\\"", "\\n", "\x01", "\xc3\xa9", "\xe2\x82\xac", "\xc3", "'"}) {
      const std::string head = '"' + pad + special;
      require_read_as_nlohmann(head + '"');
      require_read_as_nlohmann(std::string{head}.append(pad).append(1, '"'));
    }
    require_read_as_nlohmann("\"" + pad);
  }
}

TEST_CASE("read_json reads structures, whitespace and errors as nlohmann_json does") {
  for (const char* text :
       {"{}",
        "[]",
        "{ }",
        "[ ]",
        "null",
        "true",
        "false",
        " true ",
        "\t\n\r[1]\r\n",
        R"({"id": 4711, "name": "bench user", "tags": ["alpha", "beta"], "payload": "xxx"})",
        R"({"a":1,"b":[1,2,{"c":null}],"":{"":[]}})",
        R"( { "a" : [ 1 , 2 ] , "b" : { } } )",
        R"({"a": 1, "a": 2})",
        R"({"a": [1, 2], "a": null})",
        R"({"a": {"b": 1}, "a": {"c": 2}})",
        "",
        " ",
        "nul",
        "nulll",
        "tru",
        "truex",
        "true false",
        "[1,]",
        "[,1]",
        "[1 2]",
        "[1,,2]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{\"a\":}",
        "{1: 2}",
        "{\"a\":1",
        "[1",
        "[",
        "{",
        "]",
        "}",
        "\xef\xbb\xbftrue",
        "/* comment */ 1",
        "[1] x",
        R"("a" "b")"}) {
    require_read_as_nlohmann(text);
  }
}

TEST_CASE("read_json reads deep nesting as nlohmann_json does, without exhausting the stack") {
  for (const int depth : {255, 256, 257, 1000, 100000}) {
    require_read_as_nlohmann(repeated("[", depth) + repeated("]", depth));
    require_read_as_nlohmann(repeated("{\"a\": ", depth) + "1" + repeated("}", depth));
    require_read_as_nlohmann(repeated("[", depth) + repeated("]", depth - 1));
  }
}

TEST_CASE("read_json reads 20,000 random texts as nlohmann_json does") {
  constexpr std::uint64_t kSeed = 20261125;
  TextGenerator generator{kSeed};
  for (int i = 0; i < 20000; ++i) {
    INFO("seed " << kSeed << ", text " << i);
    require_read_as_nlohmann(generator.document(true));
  }
}

TEST_CASE("read_json reads jsonb's output of 3,000 random texts as nlohmann_json does") {
  // The server's text of a value (jsonb_out): what every get reads.
  const auto connection = psycache::test::connect();
  connection->prepare("as_jsonb", "SELECT $1::pg_catalog.jsonb::pg_catalog.text");
  constexpr std::uint64_t kSeed = 115;
  TextGenerator generator{kSeed};
  int numbers_past_double = 0;
  int taken = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = generator.document(false);
    INFO("seed " << kSeed << ", text " << i << ": " << printable(text));
    pqxx::nontransaction transaction{*connection};
    const pqxx::field stored = transaction.exec_prepared1("as_jsonb", text)[0];
    const std::string_view jsonb_text{stored.c_str(), stored.size()};
    if (require_read_as_nlohmann(jsonb_text)) ++taken;
    require_read_as_nlohmann(text);
    try {
      const json parsed = json::parse(jsonb_text.begin(), jsonb_text.end());
      CHECK_FALSE(parsed.is_discarded());
    } catch (const json::out_of_range&) {
      ++numbers_past_double;
    }
  }
  // The generator reaches past double's range too: the error is nlohmann_json's own.
  CHECK(numbers_past_double > 0);
  // The reader alone takes the others, but for numbers so close to 0 that they underflow.
  CHECK(taken + numbers_past_double > 2990);
}

TEST_CASE("read_json reads the values the server stores from nlohmann::json as they were") {
  // Values built in C++ (the puts of this client), through jsonb, read back identical up to
  // what jsonb normalizes, which nlohmann::json::parse of the same text shows.
  const auto connection = psycache::test::connect();
  connection->prepare("as_jsonb", "SELECT $1::pg_catalog.jsonb::pg_catalog.text");
  std::mt19937_64 random{7};  // NOLINT(cert-msc32-c,cert-msc51-cpp): reproducible
  int taken = 0;
  for (int i = 0; i < 2000; ++i) {
    double number = 0;
    do {
      number = std::bit_cast<double>(std::uniform_int_distribution<std::uint64_t>{}(random));
    } while (!std::isfinite(number));
    const json value = {{"float", number},
                        {"int", static_cast<std::int64_t>(random())},
                        {"uint", static_cast<std::uint64_t>(random())},
                        {"list", {number / 3, -number, std::ldexp(number, -20)}}};
    pqxx::nontransaction transaction{*connection};
    const pqxx::field stored = transaction.exec_prepared1("as_jsonb", value.dump())[0];
    if (require_read_as_nlohmann({stored.c_str(), stored.size()})) ++taken;
  }
  // Every one of them without nlohmann::json::parse.
  CHECK(taken == 2000);
}

TEST_CASE("write_storable_json writes what dump() writes") {
  for (const char* text :
       {"null",
        "true",
        "false",
        "0",
        "-0",
        "-1",
        "18446744073709551615",
        "-9223372036854775808",
        "0.0",
        "-0.0",
        "1.0",
        "0.1",
        "1e300",
        "4.9e-324",
        "1.7976931348623157e308",
        "[]",
        "{}",
        R"("")",
        R"("a\"b\\c/d\be\ff\ng\rh\ti\u0001\u001f\u007f")",
        R"({"id": 4711, "name": "bench user", "tags": ["alpha", "beta"], "payload": "xxx"})",
        R"({"b": [1, {"c": [[], {}]}], "a": "\u00e9\u20ac\ud83d\ude00"})"}) {
    const json value = json::parse(text);
    std::string written;
    INFO(text);
    REQUIRE(write_storable_json(value, written));
    CHECK(written == value.dump());
  }
  constexpr std::uint64_t kSeed = 42;
  TextGenerator generator{kSeed};
  std::mt19937_64 random{kSeed};  // NOLINT(cert-msc32-c,cert-msc51-cpp): reproducible
  for (int i = 0; i < 20000; ++i) {
    const std::string text = generator.document(false);
    json value;
    try {
      value = json::parse(text);
    } catch (const json::exception&) {
      continue;  // past double's range
    }
    if (i % 2 == 0) {
      double number = 0;
      do {
        number = std::bit_cast<double>(std::uniform_int_distribution<std::uint64_t>{}(random));
      } while (!std::isfinite(number));
      value = json::array({value, number});
    }
    std::string written;
    INFO("seed " << kSeed << ", text " << i << ": " << printable(text));
    REQUIRE(write_storable_json(value, written));
    REQUIRE(written == value.dump());
  }
}

TEST_CASE("write_storable_json leaves to the slow path what a put refuses") {
  const auto refused = [](const json& value) {
    std::string written;
    return !write_storable_json(value, written);
  };
  CHECK(refused(std::numeric_limits<double>::quiet_NaN()));
  CHECK(refused({{"a", {1, -std::numeric_limits<double>::infinity()}}}));
  CHECK(refused(std::string{"nul \0 inside", 12}));
  CHECK(refused({{std::string{"k\0", 2}, 1}}));
  CHECK(refused({{"a", "\xc3"}}));
  CHECK(refused({{"\xff", 1}}));
  CHECK(refused(json::binary({1, 2, 3})));
  json deep = 1;
  for (int i = 0; i < 300; ++i) deep = json::array({deep});
  CHECK(refused(deep));
  // value_text still names the problem, and still writes a deep value that jsonb takes.
  CHECK_THROWS_WITH(
      psycache::detail::value_text("k", {{"a", {1, std::nan("")}}}, 0),
      "invalid value for key \"k\": it contains a non-finite number (NaN or infinity), which JSON "
      "cannot represent, at \"/a/1\"");
  CHECK(psycache::detail::value_text("k", deep, 0) == deep.dump());
}

TEST_CASE("Every get reads as nlohmann_json, the texts the reader leaves to it too") {
  // get_raw, get_many_raw and the asynchronous get each read the server's text: a plain value,
  // one nested deeper than the reader goes, and one past double's range (a ConversionError).
  psycache::test::reset_extension();
  const std::string deep = repeated("[", 300) + "1" + repeated("]", 300);
  const std::vector<std::string> keys = {"plain", "deep", "huge"};
  {
    const auto connection = psycache::test::connect();
    pqxx::nontransaction transaction{*connection};
    const std::vector<std::string> texts = {R"({"a": [1, -2, 0.5, "\u00e9"]})", deep,
                                            R"({"huge": 1e400})"};
    for (std::size_t i = 0; i < keys.size(); ++i) {
      transaction.exec_params("SELECT public.psycache_put($1, $2::jsonb, '1 minute')", keys[i],
                              texts[i]);
    }
  }
  const std::vector<json> expected = {json::parse(R"({"a": [1, -2, 0.5, "\u00e9"]})"),
                                      json::parse(deep)};
  // (Catch's combined matchers refer to their parts: these must outlive every use.)
  const auto names_key = Catch::Matchers::Contains("key \"huge\"");
  const auto says_overflow = Catch::Matchers::Contains("number overflow");

  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{pool};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const std::optional<json> read = cache.get_raw(keys[i]);
    REQUIRE(read);
    CHECK(identical(*read, expected[i]));
  }
  CHECK_THROWS_WITH(cache.get_raw("huge"), names_key && says_overflow);
  const auto many = cache.get_many_raw({"plain", "deep"});
  REQUIRE(many.size() == 2);
  REQUIRE(many[0]);
  REQUIRE(many[1]);
  CHECK(identical(*many[0], expected[0]));
  CHECK(identical(*many[1], expected[1]));
  CHECK_THROWS_WITH(cache.get_many_raw({"plain", "huge"}), names_key && says_overflow);

  asio::io_context io{1};
  psycache::AsyncConnectionPool async_pool{io.get_executor(), psycache::test::dsn()};
  psycache::AsyncPostgresCache async_cache{async_pool};
  auto guard = asio::make_work_guard(io);
  std::thread runner{[&] { io.run(); }};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const std::optional<json> read = async_cache.async_get_raw(keys[i], asio::use_future).get();
    REQUIRE(read);
    CHECK(identical(*read, expected[i]));
  }
  CHECK_THROWS_WITH(async_cache.async_get_raw("huge", asio::use_future).get(),
                    names_key && says_overflow);
  guard.reset();
  asio::post(io, [&] { io.stop(); });
  runner.join();
}
