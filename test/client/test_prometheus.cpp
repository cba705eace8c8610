// PrometheusInstrumentation and the metrics registry: the exact exposition
// text after a scripted sequence of cache operations, accepted by promtool.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>

#include "support/exposition.hpp"
#include "support/test_db.hpp"

using nlohmann::json;
using psycache::metrics::format_value;

namespace {

// prometheus_client's default buckets as it writes them.
const std::vector<std::string> duration_le = {"0.005", "0.01", "0.025", "0.05", "0.075",
                                              "0.1",   "0.25", "0.5",   "0.75", "1.0",
                                              "2.5",   "5.0",  "7.5",   "10.0", "+Inf"};

std::string labels(const std::string& span_label, const std::string& le) {
  std::string inner = span_label;
  if (!le.empty()) inner += (inner.empty() ? "" : ",") + std::string{"le=\""} + le + "\"";
  return inner.empty() ? "" : "{" + inner + "}";
}

// The lines of a duration histogram, its finite buckets' counts and its sum
// written as <t> and <sum> (they depend on timing), as masked() writes them.
std::string duration_series(const std::string& name, const std::string& span_label, int count) {
  std::string out;
  for (const std::string& le : duration_le) {
    out += name + "_bucket" + labels(span_label, le) + " " +
           (le == "+Inf" ? format_value(count) : "<t>") + "\n";
  }
  out += name + "_count" + labels(span_label, "") + " " + format_value(count) + "\n";
  out += name + "_sum" + labels(span_label, "") + " <sum>\n";
  return out;
}

// A histogram's lines from its le values, cumulative counts and sum.
std::string histogram_series(const std::string& name, const std::string& span_label,
                             const std::vector<std::string>& les,
                             const std::vector<int>& cumulative, double sum) {
  std::string out;
  for (std::size_t i = 0; i < les.size(); ++i) {
    out += name + "_bucket" + labels(span_label, les[i]) + " " + format_value(cumulative[i]) + "\n";
  }
  out += name + "_count" + labels(span_label, "") + " " + format_value(cumulative.back()) + "\n";
  out += name + "_sum" + labels(span_label, "") + " " + format_value(sum) + "\n";
  return out;
}

// text with the timing-dependent values replaced: the finite buckets of the
// duration histograms by <t>, their sums by <sum> (after checking each lies in
// [0, max_seconds]), the cleanup timestamp by <time> (after checking it lies in
// [earliest, latest]).
std::string masked(const std::string& text, double max_seconds, double earliest, double latest) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t eol = text.find('\n', start);
    std::string line = text.substr(start, eol - start);
    start = eol + 1;
    const std::size_t space = line.rfind(' ');
    if (line.starts_with("psycache_") && line.find("_duration_seconds_") != std::string::npos) {
      const double value = std::stod(line.substr(space + 1));
      if (line.find("_duration_seconds_sum") != std::string::npos) {
        CHECK(value >= 0.0);
        CHECK(value <= max_seconds);
        line = line.substr(0, space) + " <sum>";
      } else if (line.find("_bucket") != std::string::npos &&
                 line.find("le=\"+Inf\"") == std::string::npos) {
        line = line.substr(0, space) + " <t>";
      }
    } else if (line.starts_with("psycache_cleanup_last_run_timestamp_seconds ")) {
      const double value = std::stod(line.substr(space + 1));
      CHECK(value >= earliest);
      CHECK(value <= latest);
      line = line.substr(0, space) + " <time>";
    }
    out += line + "\n";
  }
  return out;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// promtool's verdict on text: its exit status and everything it printed.
std::pair<int, std::string> promtool_check(const std::string& text) {
  static int files = 0;
  const std::string path = "/tmp/psycache_promtool_" + std::to_string(::getpid()) + "_" +
                           std::to_string(++files) + ".prom";
  {
    std::ofstream file{path};
    file << text;
  }
  const std::string command = "promtool check metrics < " + path + " 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");  // NOLINT(cert-env33-c): a fixed command
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  (void)std::remove(path.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace

TEST_CASE("Numbers are written as prometheus_client writes them") {
  CHECK(format_value(0) == "0.0");
  CHECK(format_value(1) == "1.0");
  CHECK(format_value(3) == "3.0");
  CHECK(format_value(-2) == "-2.0");
  CHECK(format_value(0.005) == "0.005");
  CHECK(format_value(0.075) == "0.075");
  CHECK(format_value(123.456) == "123.456");
  CHECK(format_value(262144) == "262144.0");
  CHECK(format_value(1048576) == "1.048576e+06");
  CHECK(format_value(1e7) == "1e+07");
  CHECK(format_value(1764072526.25) == "1.76407252625e+09");
  CHECK(format_value(1e10) == "1e+010");  // sic: prometheus_client's "e+0" prefix
  CHECK(format_value(1e16) == "1e+16");
  CHECK(format_value(1.5e-5) == "1.5e-05");
  CHECK(format_value(0.0001) == "0.0001");
  CHECK(format_value(1.0 / 0.0) == "+Inf");
  CHECK(format_value(-1.0 / 0.0) == "-Inf");
  CHECK(format_value(0.0 / 0.0) == "NaN");
}

TEST_CASE("The registry renders families, labels and escapes exactly") {
  psycache::metrics::Registry registry;
  auto& requests =
      registry.counter("app_requests_total", "Requests\\served\nso far", {"path", "method"});
  auto& temperature = registry.gauge("app_temperature_celsius", "Temperature");
  auto& latency = registry.histogram("app_latency_seconds", "Latency", {}, std::vector{0.1, 1.0});
  requests.labels({"/a\"b\\c\nd", "GET"}).inc(2);
  requests.labels({"/x", "POST"}).inc();
  requests.labels({"/a\"b\\c\nd", "GET"}).inc(0.5);
  temperature.unlabelled().set(-3.5);
  latency.unlabelled().observe(0.1);
  latency.unlabelled().observe(0.5);
  latency.unlabelled().observe(7);

  CHECK(registry.render() ==
        "# HELP app_requests_total Requests\\\\served\\nso far\n"
        "# TYPE app_requests_total counter\n"
        "app_requests_total{path=\"/a\\\"b\\\\c\\nd\",method=\"GET\"} 2.5\n"
        "app_requests_total{path=\"/x\",method=\"POST\"} 1.0\n"
        "# HELP app_temperature_celsius Temperature\n"
        "# TYPE app_temperature_celsius gauge\n"
        "app_temperature_celsius -3.5\n"
        "# HELP app_latency_seconds Latency\n"
        "# TYPE app_latency_seconds histogram\n"
        "app_latency_seconds_bucket{le=\"0.1\"} 1.0\n"
        "app_latency_seconds_bucket{le=\"1.0\"} 2.0\n"
        "app_latency_seconds_bucket{le=\"+Inf\"} 3.0\n"
        "app_latency_seconds_count 3.0\n"
        "app_latency_seconds_sum 7.6\n");
  CHECK(psycache::test::histogram_problems(registry.render()).empty());
  const auto [status, output] = promtool_check(registry.render());
  CHECK(status == 0);
  CHECK(output.empty());
}

TEST_CASE("The registry refuses what the format cannot hold") {
  using psycache::InvalidArgument;
  psycache::metrics::Registry registry;
  CHECK_THROWS_AS(registry.counter("9lives", "x"), InvalidArgument);
  CHECK_THROWS_AS(registry.counter("has-dash", "x"), InvalidArgument);
  CHECK_THROWS_AS(registry.counter("ok", "x", {"__reserved"}), InvalidArgument);
  CHECK_THROWS_AS(registry.counter("ok", "x", {"a", "a"}), InvalidArgument);
  CHECK_THROWS_AS(registry.histogram("h", "x", {"le"}), InvalidArgument);
  CHECK_THROWS_AS(registry.histogram("h", "x", {}, std::vector{1.0, 1.0}), InvalidArgument);
  CHECK_THROWS_AS(registry.histogram("h", "x", {}, std::vector{2.0, 1.0}), InvalidArgument);

  auto& counter = registry.counter("c_total", "help", {"a"});
  CHECK(&registry.counter("c_total", "help", {"a"}) == &counter);
  CHECK_THROWS_AS(registry.counter("c_total", "other help", {"a"}), InvalidArgument);
  CHECK_THROWS_AS(registry.gauge("c_total", "help", {"a"}), InvalidArgument);
  CHECK_THROWS_AS(counter.labels({}), InvalidArgument);
  CHECK_THROWS_AS(counter.labels({"x", "y"}), InvalidArgument);
  CHECK_THROWS_AS(counter.labels({"x"}).inc(-1), InvalidArgument);
  CHECK(&counter.labels({"x"}) == &counter.labels({"x"}));
  CHECK(counter.labels({"x"}).value() == 0);
}

TEST_CASE("The metrics after a scripted sequence of operations, exactly") {
  psycache::test::reset_extension();
  auto registry = std::make_shared<psycache::metrics::Registry>();
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::CacheOptions options;
  options.instrumentations = {std::make_shared<psycache::PrometheusInstrumentation>(registry)};
  psycache::PostgresCache cache{pool, options};

  // Before any operation: the metrics without labels, at zero.
  const std::string before = registry->render();
  CHECK(before.find("psycache_remove_duration_seconds_count 0.0\n") != std::string::npos);
  CHECK(before.find("psycache_cleanup_deleted_entries 0.0\n") != std::string::npos);
  CHECK(before.find("psycache_hits_total{") == std::string::npos);

  const json small = {{"x", 1}};
  const json medium = {{"text", std::string(500, 'm')}};
  const double earliest = unix_now();
  const auto started = std::chrono::steady_clock::now();

  cache.put_raw("a", small, 3600);
  cache.put_raw("b", medium, 3600, "users");
  // The sizes as stored (a short value has a shorter header in the table).
  const int small_size = std::stoi(*psycache::test::query_value(
      "SELECT pg_column_size(value) FROM public.psycache WHERE key = 'a'"));
  const int medium_size = std::stoi(*psycache::test::query_value(
      "SELECT pg_column_size(value) FROM public.psycache WHERE key = 'b'"));
  REQUIRE(cache.get_raw("a"));
  REQUIRE(cache.get_raw("b", "users"));
  REQUIRE_FALSE(cache.get_raw("nope"));
  REQUIRE_FALSE(cache.get_raw("nope", "users"));
  REQUIRE_FALSE(cache.get_raw("nope"));
  REQUIRE(cache.remove("a"));
  cache.put_raw("c", small, -1);  // expired at once
  REQUIRE(cache.cleanup_expired() == 1);
  REQUIRE(cache.flush() == 1);  // "b"

  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double latest = unix_now();

  REQUIRE(small_size <= 64);
  REQUIRE(medium_size > 256);
  REQUIRE(medium_size <= 1024);

  const std::vector<std::string> size_le = {"64.0",     "256.0",        "1024.0",
                                            "4096.0",   "16384.0",      "65536.0",
                                            "262144.0", "1.048576e+06", "+Inf"};
  const std::vector<std::string> flushed_le = {"0.0",   "1.0",   "5.0",   "10.0",   "25.0", "50.0",
                                               "100.0", "250.0", "500.0", "1000.0", "+Inf"};
  const std::string none = "span_name=\"\"";
  const std::string users = "span_name=\"users\"";
  const std::string expected =
      "# HELP psycache_hits_total Number of cache hits\n"
      "# TYPE psycache_hits_total counter\n"
      "psycache_hits_total{span_name=\"\"} 1.0\n"
      "psycache_hits_total{span_name=\"users\"} 1.0\n"
      "# HELP psycache_misses_total Number of cache misses\n"
      "# TYPE psycache_misses_total counter\n"
      "psycache_misses_total{span_name=\"\"} 2.0\n"
      "psycache_misses_total{span_name=\"users\"} 1.0\n"
      "# HELP psycache_get_duration_seconds Time taken for cache get operations\n"
      "# TYPE psycache_get_duration_seconds histogram\n" +
      duration_series("psycache_get_duration_seconds", none, 3) +
      duration_series("psycache_get_duration_seconds", users, 2) +
      "# HELP psycache_put_duration_seconds Time taken for cache put operations\n"
      "# TYPE psycache_put_duration_seconds histogram\n" +
      duration_series("psycache_put_duration_seconds", none, 2) +
      duration_series("psycache_put_duration_seconds", users, 1) +
      "# HELP psycache_remove_duration_seconds Time taken for cache remove operations\n"
      "# TYPE psycache_remove_duration_seconds histogram\n" +
      duration_series("psycache_remove_duration_seconds", "", 1) +
      "# HELP psycache_flush_duration_seconds Time taken for cache flush operations\n"
      "# TYPE psycache_flush_duration_seconds histogram\n" +
      duration_series("psycache_flush_duration_seconds", "", 1) +
      "# HELP psycache_item_size_bytes Size of cache items in bytes\n"
      "# TYPE psycache_item_size_bytes histogram\n" +
      histogram_series("psycache_item_size_bytes", none, size_le, {3, 3, 3, 3, 3, 3, 3, 3, 3},
                       3.0 * small_size) +
      histogram_series("psycache_item_size_bytes", users, size_le, {0, 0, 2, 2, 2, 2, 2, 2, 2},
                       2.0 * medium_size) +
      "# HELP psycache_flushed_entries Number of entries flushed per flush operation\n"
      "# TYPE psycache_flushed_entries histogram\n" +
      histogram_series("psycache_flushed_entries", "", flushed_le,
                       {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1.0) +
      "# HELP psycache_cleanup_last_run_timestamp_seconds Timestamp of the last expired-entry "
      "cleanup run\n"
      "# TYPE psycache_cleanup_last_run_timestamp_seconds gauge\n"
      "psycache_cleanup_last_run_timestamp_seconds <time>\n"
      "# HELP psycache_cleanup_deleted_entries Number of expired entries deleted in the last "
      "cleanup run\n"
      "# TYPE psycache_cleanup_deleted_entries gauge\n"
      "psycache_cleanup_deleted_entries 1.0\n";

  const std::string text = registry->render();
  CHECK(masked(text, elapsed, earliest, latest) == expected);
  CHECK(psycache::test::histogram_problems(text).empty());

  const auto [status, output] = promtool_check(text);
  CHECK(status == 0);
  CHECK(output.empty());
}

TEST_CASE("Failed operations are timed too, and recorded nowhere else") {
  psycache::test::reset_extension();
  auto registry = std::make_shared<psycache::metrics::Registry>();
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::CacheOptions options;
  options.instrumentations = {std::make_shared<psycache::PrometheusInstrumentation>(registry)};
  psycache::PostgresCache cache{pool, options};
  CHECK_THROWS_AS(cache.get_raw(std::string(3000, 'k'), "bad"), psycache::InvalidArgument);
  const std::string text = registry->render();
  CHECK(text.find("psycache_get_duration_seconds_count{span_name=\"bad\"} 1.0\n") !=
        std::string::npos);
  CHECK(text.find("psycache_hits_total{") == std::string::npos);
  CHECK(text.find("psycache_misses_total{") == std::string::npos);
}

TEST_CASE("Two instrumentations on one registry share its metrics") {
  psycache::test::reset_extension();
  auto registry = std::make_shared<psycache::metrics::Registry>();
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::CacheOptions first;
  first.instrumentations = {std::make_shared<psycache::PrometheusInstrumentation>(registry)};
  psycache::CacheOptions second;
  second.instrumentations = {std::make_shared<psycache::PrometheusInstrumentation>(registry)};
  psycache::PostgresCache one{pool, first};
  psycache::PostgresCache two{pool, second};
  (void)one.get_raw("nope");
  (void)two.get_raw("nope");
  CHECK(registry->render().find("psycache_misses_total{span_name=\"\"} 2.0\n") !=
        std::string::npos);
}

TEST_CASE("Concurrent updates and renders keep every count and invariant") {
  psycache::metrics::Registry registry;
  auto& counter = registry.counter("t_total", "t", {"span_name"});
  auto& histogram = registry.histogram("t_seconds", "t", {"span_name"});
  constexpr int kThreads = 4;
  constexpr int kIterations = 20000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string name = "n" + std::to_string(t % 2);
      for (int i = 0; i < kIterations; ++i) {
        counter.labels({name}).inc();
        histogram.labels({name}).observe((i % 100) * 0.001);
      }
    });
  }
  std::vector<std::string> problems;
  for (int i = 0; i < 50; ++i) {
    const auto found = psycache::test::histogram_problems(registry.render());
    problems.insert(problems.end(), found.begin(), found.end());
  }
  for (auto& thread : threads) thread.join();
  CHECK(problems.empty());
  const std::string each = format_value(2.0 * kIterations);
  const std::string text = registry.render();
  CHECK(text.find("t_total{span_name=\"n0\"} " + each + "\n") != std::string::npos);
  CHECK(text.find("t_total{span_name=\"n1\"} " + each + "\n") != std::string::npos);
  CHECK(text.find("t_seconds_count{span_name=\"n0\"} " + each + "\n") != std::string::npos);
  CHECK(text.find("t_seconds_bucket{span_name=\"n1\",le=\"+Inf\"} " + each + "\n") !=
        std::string::npos);
}
