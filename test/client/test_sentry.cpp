// SentryInstrumentation on sentry-native: op, name, parent and data of every
// span, read back from the envelopes the SDK sends (captured in memory by a
// custom transport; nothing leaves the process).
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <psycache/psycache.hpp>
#include <psycache/sentry.hpp>

#include "support/test_db.hpp"

using nlohmann::json;

namespace {

std::mutex envelopes_mutex;
std::vector<std::string> envelopes;  // serialized, as the transport received them

void capture(sentry_envelope_t* envelope, void* /*state*/) {
  std::size_t size = 0;
  char* text = sentry_envelope_serialize(envelope, &size);
  {
    const std::lock_guard lock{envelopes_mutex};
    envelopes.emplace_back(text, size);
  }
  sentry_free(text);
  sentry_envelope_free(envelope);
}

// The transaction events among the captured envelopes, in order.
std::vector<json> transactions() {
  const std::lock_guard lock{envelopes_mutex};
  std::vector<json> result;
  for (const std::string& envelope : envelopes) {
    // Lines: the envelope header, then per item a header and a payload of
    // "length" bytes (or up to the line's end).
    std::size_t at = envelope.find('\n') + 1;
    while (at > 0 && at < envelope.size()) {
      const std::size_t header_end = envelope.find('\n', at);
      const json header = json::parse(envelope.substr(at, header_end - at));
      at = header_end + 1;
      std::size_t length = 0;
      if (header.contains("length")) {
        length = header["length"].get<std::size_t>();
      } else {
        length = envelope.find('\n', at);
        length = (length == std::string::npos ? envelope.size() : length) - at;
      }
      if (header.value("type", "") == "transaction") {
        result.push_back(json::parse(envelope.substr(at, length)));
      }
      at += length + 1;
    }
  }
  return result;
}

// sentry-native initialized with the capturing transport; closed on destruction.
class SentrySdk {
 public:
  SentrySdk() {
    {
      const std::lock_guard lock{envelopes_mutex};
      envelopes.clear();
    }
    database_ = std::filesystem::temp_directory_path() /
                ("psycache-sentry-" + psycache::test::unique_key("db"));
    sentry_options_t* options = sentry_options_new();
    sentry_options_set_dsn(options, "https://public@127.0.0.1:9/42");
    sentry_options_set_database_path(options, database_.c_str());
    sentry_options_set_traces_sample_rate(options, 1.0);
    sentry_options_set_auto_session_tracking(options, 0);
    sentry_transport_t* transport = sentry_transport_new(capture);
    sentry_options_set_transport(options, transport);
    REQUIRE(sentry_init(options) == 0);
  }
  SentrySdk(const SentrySdk&) = delete;
  SentrySdk& operator=(const SentrySdk&) = delete;
  SentrySdk(SentrySdk&&) = delete;
  SentrySdk& operator=(SentrySdk&&) = delete;
  ~SentrySdk() {
    sentry_close();
    std::error_code ignored;
    std::filesystem::remove_all(database_, ignored);
  }

 private:
  std::filesystem::path database_;
};

sentry_transaction_t* start_transaction(const char* name, const char* op) {
  sentry_transaction_context_t* context = sentry_transaction_context_new(name, op);
  return sentry_transaction_start(context, sentry_value_new_null());
}

int stored_size(const std::string& key) {
  return std::stoi(*psycache::test::query_value(
      "SELECT pg_column_size(value) FROM public.psycache WHERE key = '" + key + "'"));
}

// What a span says about itself, for comparison.
json summary(const json& span) {
  json result = {{"op", span.value("op", "")},
                 {"name", span.value("description", "")},
                 {"data", span.value("data", json::object())}};
  if (span.contains("status") && span["status"] != "ok") result["status"] = span["status"];
  return result;
}

}  // namespace

TEST_CASE("Every cache operation is a child span of the thread's transaction") {
  psycache::test::reset_extension();
  const SentrySdk sdk;
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{
      pool, {.instrumentations = {std::make_shared<psycache::SentryInstrumentation>()}}};

  sentry_transaction_t* transaction = start_transaction("request", "http.server");
  REQUIRE(transaction != nullptr);
  int k_size = 0;
  int u_size = 0;
  {
    const psycache::SentryParent parent{transaction};
    cache.put_raw("k", json{{"x", 1}}, 60);
    cache.put_raw("u", json{{"name", "Ada"}}, 60, "users");
    k_size = stored_size("k");
    u_size = stored_size("u");
    REQUIRE(cache.get_raw("k"));
    REQUIRE_FALSE(cache.get_raw("nope", "lookup"));
    REQUIRE(cache.remove("k"));
    REQUIRE(cache.cleanup_expired() == 0);
    REQUIRE(cache.flush() == 1);
    CHECK_THROWS_AS(cache.get_raw(std::string(3000, 'b')), psycache::InvalidArgument);
  }
  (void)sentry_transaction_finish(transaction);

  const std::vector<json> sent = transactions();
  REQUIRE(sent.size() == 1);
  const json& event = sent[0];
  CHECK(event["transaction"] == "request");
  const json& trace = event["contexts"]["trace"];
  REQUIRE(event["spans"].size() == 7);  // cleanup has no span, as in the original
  std::vector<json> spans;
  for (const json& span : event["spans"]) {
    CHECK(span["parent_span_id"] == trace["span_id"]);
    CHECK(span["trace_id"] == trace["trace_id"]);
    spans.push_back(summary(span));
  }
  const std::vector<json> expected = {
      {{"op", "cache.put"},
       {"name", "psycache put"},
       {"data", {{"cache.key", {"k"}}, {"cache.item_size", k_size}, {"cache.success", true}}}},
      {{"op", "cache.put"},
       {"name", "users"},
       {"data", {{"cache.key", {"u"}}, {"cache.item_size", u_size}, {"cache.success", true}}}},
      {{"op", "cache.get"},
       {"name", "psycache get"},
       {"data",
        {{"cache.key", {"k"}},
         {"cache.hit", true},
         {"cache.item_size", k_size},
         {"cache.success", true}}}},
      {{"op", "cache.get"},
       {"name", "lookup"},
       {"data", {{"cache.key", {"nope"}}, {"cache.hit", false}, {"cache.success", true}}}},
      {{"op", "cache.remove"},
       {"name", "psycache remove"},
       {"data", {{"cache.key", {"k"}}, {"cache.success", true}}}},
      {{"op", "cache.flush"}, {"name", "psycache flush"}, {"data", {{"cache.num_flushed", 1}}}},
      {{"op", "cache.get"},
       {"name", "psycache get"},
       {"data", {{"cache.key", {std::string(3000, 'b')}}}},
       {"status", "internal_error"}},
  };
  // Sentry lists the spans in the order they finished: the operations' order.
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("span " << i);
    CHECK(spans[i].dump() == expected[i].dump());
  }
}

TEST_CASE("Parents nest and stay on their own thread") {
  psycache::test::reset_extension();
  const SentrySdk sdk;
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache cache{
      pool, {.instrumentations = {std::make_shared<psycache::SentryInstrumentation>()}}};

  sentry_transaction_t* transaction = start_transaction("job", "queue.task");
  sentry_span_t* outer = sentry_transaction_start_child(transaction, "function", "load users");
  REQUIRE(outer != nullptr);
  {
    const psycache::SentryParent parent{transaction};
    {
      const psycache::SentryParent inner{outer};
      (void)cache.get_raw("a", "inner");
    }
    (void)cache.get_raw("b", "outer");
    // Another thread has no parent: its operation records no span.
    std::thread{[&] { (void)cache.get_raw("c", "other thread"); }}.join();
  }
  (void)cache.get_raw("d", "after");  // no parent any more
  sentry_span_finish(outer);
  (void)sentry_transaction_finish(transaction);

  const std::vector<json> sent = transactions();
  REQUIRE(sent.size() == 1);
  const json& trace = sent[0]["contexts"]["trace"];
  std::string outer_id;
  json inner;
  json direct;
  for (const json& span : sent[0]["spans"]) {
    if (span["description"] == "load users") outer_id = span["span_id"];
    if (span["description"] == "inner") inner = span;
    if (span["description"] == "outer") direct = span;
  }
  CHECK(sent[0]["spans"].size() == 3);  // load users, inner, outer
  REQUIRE_FALSE(outer_id.empty());
  REQUIRE(inner.is_object());
  REQUIRE(direct.is_object());
  CHECK(inner["op"] == "cache.get");
  CHECK(inner["parent_span_id"] == outer_id);
  CHECK(direct["parent_span_id"] == trace["span_id"]);
}

TEST_CASE("Without a parent: no span, or a transaction per operation when asked") {
  psycache::test::reset_extension();
  const SentrySdk sdk;
  psycache::ConnectionPool pool{psycache::test::dsn()};
  psycache::PostgresCache quiet{
      pool, {.instrumentations = {std::make_shared<psycache::SentryInstrumentation>()}}};
  (void)quiet.get_raw("a");
  CHECK(transactions().empty());

  psycache::PostgresCache own{
      pool,
      {.instrumentations = {std::make_shared<psycache::SentryInstrumentation>(
           psycache::SentryOptions{.transaction_without_parent = true})}}};
  own.put_raw("a", json{{"x", 1}}, 60, "store");
  const int size = stored_size("a");
  (void)own.get_raw("a");
  const std::vector<json> sent = transactions();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0]["transaction"] == "store");
  CHECK(sent[0]["contexts"]["trace"]["op"] == "cache.put");
  CHECK(sent[0]["contexts"]["trace"]["data"].dump() ==
        json({{"cache.key", {"a"}}, {"cache.item_size", size}, {"cache.success", true}}).dump());
  CHECK(sent[1]["transaction"] == "psycache get");
  CHECK(sent[1]["contexts"]["trace"]["op"] == "cache.get");
  CHECK(sent[1]["contexts"]["trace"]["data"]["cache.hit"] == true);
}
