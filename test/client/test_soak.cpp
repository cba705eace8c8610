// The soak: sync and async clients mixed on 1,000 hot keys for
// PSYCACHE_SOAK_SECONDS (60 unless set), while the server's cleanup worker and
// a client cleanup thread delete expired entries. Every operation succeeds,
// none waits forever, and every result is exactly what the acknowledged writes
// allow:
//
// - put/get/remove keys: each client owns a slice, so it knows the last write
//   it was acknowledged. A read returns that value, or a miss only where it was
//   removed or its ttl has passed. A quarter of them live for less than two
//   seconds, so entries really expire and get cleaned up under the load.
// - counter keys: every client increments every one; each value ends as the
//   sum of the increments acknowledged to all clients.
// - add keys, with short ttls: every client adds to every one. In one
//   lifetime of a key at most one add wins, and the winner's value is what
//   the reads see.
//
// Expiry is decided by the server's statement_timestamp(), which the client
// cannot read without a second round trip; so each operation is bracketed by
// the client's system clock (the same clock on 127.0.0.1), and an answer that
// depends on expiry is wrong only when it is wrong for every moment between
// those two readings.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include <psycache/async.hpp>

#include "support/async_cache_thread.hpp"
#include "support/test_db.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::system_clock;
using std::chrono::milliseconds;

namespace {

// --- the key space ---------------------------------------------------------------------------

constexpr int kClients = 16;  // even ones sync, odd ones async
constexpr int kOwnedPerClient = 56;
constexpr int kCounters = 64;
constexpr int kAddKeys = 40;
static_assert(kClients * kOwnedPerClient + kCounters + kAddKeys == 1000);

// Decisions about expiry are made only outside this margin: timestamps are microseconds on the
// server, and the two clock readings around an operation are not taken at the very same
// instant as the server's.
constexpr auto kClockSlack = 5ms;
// Longer than any soak: these keys never expire during one.
constexpr auto kLongTtl = 2h;

std::string owned_key(int client, int slot) {
  return "own:" + std::to_string(client) + ":" + std::to_string(slot);
}
std::string counter_key(int i) { return "ctr:" + std::to_string(i); }
std::string add_key(int i) { return "add:" + std::to_string(i); }

// A quarter of the owned keys expire after 0.3 to 1.5 s; the rest outlive the soak.
milliseconds owned_ttl(int slot) {
  if (slot % 4 != 0) return std::chrono::duration_cast<milliseconds>(kLongTtl);
  return milliseconds{300 + 400 * ((slot / 4) % 4)};
}

// The add keys live 0.4 to 1.3 s, so that each is won many times.
milliseconds add_ttl(int i) { return milliseconds{400 + 300 * (i % 4)}; }

// PSYCACHE_SOAK_SECONDS, 60 by default.
std::chrono::seconds soak_duration() {
  const char* text = std::getenv("PSYCACHE_SOAK_SECONDS");  // NOLINT(concurrency-mt-unsafe)
  if (text == nullptr || *text == '\0') return 60s;
  const long seconds = std::strtol(text, nullptr, 10);
  // ctest gives the soak 900 s in all.
  if (seconds < 1 || seconds > 600) {
    throw std::invalid_argument("PSYCACHE_SOAK_SECONDS must be 1 to 600, not " + std::string{text});
  }
  return std::chrono::seconds{seconds};
}

// --- the clients -----------------------------------------------------------------------------

// What one soak client calls; each call blocks until it has the answer.
class SoakClient {
 public:
  SoakClient() = default;
  SoakClient(const SoakClient&) = delete;
  SoakClient& operator=(const SoakClient&) = delete;
  SoakClient(SoakClient&&) = delete;
  SoakClient& operator=(SoakClient&&) = delete;
  virtual ~SoakClient() = default;

  virtual std::optional<json> get(const std::string& key) = 0;
  virtual void put(const std::string& key, const json& value, milliseconds ttl) = 0;
  virtual bool remove(const std::string& key) = 0;
  virtual bool add(const std::string& key, const json& value, milliseconds ttl) = 0;
  virtual std::int64_t incr(const std::string& key, std::int64_t delta, milliseconds ttl) = 0;
};

class SyncClient final : public SoakClient {
 public:
  explicit SyncClient(psycache::PostgresCache& cache) : cache_(cache) {}

  std::optional<json> get(const std::string& key) override { return cache_.get_raw(key); }
  void put(const std::string& key, const json& value, milliseconds ttl) override {
    cache_.put_raw(key, value, ttl);
  }
  bool remove(const std::string& key) override { return cache_.remove(key); }
  bool add(const std::string& key, const json& value, milliseconds ttl) override {
    return cache_.add_raw(key, value, ttl);
  }
  std::int64_t incr(const std::string& key, std::int64_t delta, milliseconds ttl) override {
    return cache_.incr(key, delta, ttl);
  }

 private:
  psycache::PostgresCache& cache_;
};

// An AsyncPostgresCache shared with the other async clients, its io_context run by another
// thread: the calls of all async clients are in flight at once on its pool.
class AsyncClient final : public SoakClient {
 public:
  explicit AsyncClient(psycache::AsyncPostgresCache& cache) : cache_(cache) {}

  std::optional<json> get(const std::string& key) override {
    return cache_.async_get_raw(key, asio::use_future).get();
  }
  void put(const std::string& key, const json& value, milliseconds ttl) override {
    cache_.async_put_raw(key, value, ttl, asio::use_future).get();
  }
  bool remove(const std::string& key) override {
    return cache_.async_remove(key, asio::use_future).get();
  }
  bool add(const std::string& key, const json& value, milliseconds ttl) override {
    return cache_.async_add_raw(key, value, ttl, asio::use_future).get();
  }
  std::int64_t incr(const std::string& key, std::int64_t delta, milliseconds ttl) override {
    return cache_.async_incr(key, delta, ttl, asio::use_future).get();
  }

 private:
  psycache::AsyncPostgresCache& cache_;
};

// --- what the clients saw ----------------------------------------------------------------------

// The moments a client took just before sending an operation and just after its answer: the
// server ran it somewhere in between.
struct Window {
  Clock::time_point before;
  Clock::time_point after;
};

// An add, as its client saw it.
struct AddAttempt {
  int key = 0;
  std::int64_t id = 0;  // the value it sent: unique over the soak
  bool won = false;
  Window window;
};

// A read of an add key: the id it returned, or nullopt for a miss.
struct AddRead {
  int key = 0;
  std::optional<std::int64_t> id;
  Window window;
};

// Errors of operations, by kind.
struct ErrorCounts {
  std::int64_t connection = 0;  // ConnectionError but not TimeoutError
  std::int64_t timeout = 0;
  std::int64_t server = 0;
  std::int64_t other = 0;
  [[nodiscard]] std::int64_t total() const { return connection + timeout + server + other; }
};

// One client's run: its operations, errors, wrong results, and logs for the final check.
struct ClientReport {
  std::array<std::int64_t, 6> operations{};  // by Op
  ErrorCounts errors;
  std::vector<std::string> messages;             // the first errors and wrong results
  std::int64_t violations = 0;                   // wrong results
  std::int64_t expiry_misses = 0;                // misses of owned keys that only expiry explains
  std::map<int, std::int64_t> counted;           // counter -> increments acknowledged
  std::map<int, std::int64_t> counted_in_doubt;  // counter -> increments that failed
  std::vector<AddAttempt> adds;
  std::vector<AddRead> add_reads;
};

enum Op { kGet, kPut, kRemove, kIncr, kAdd, kGetAdded };
constexpr std::array<const char*, 6> kOpNames{"get", "put", "remove", "incr", "add", "get(add)"};

// The last write a client was acknowledged on one of its keys.
struct OwnedState {
  enum class Kind { kNone, kRemoved, kPut, kInDoubt } kind = Kind::kNone;
  std::int64_t version = 0;
  milliseconds ttl{};
  Window window;

  // Whether the entry may have expired at a moment of `at`: only if its ttl has passed for at
  // least the latest moment.
  [[nodiscard]] bool may_have_expired(const Window& at) const {
    return at.after + kClockSlack >= window.before + ttl;
  }
  // Whether it had surely expired during all of `at`.
  [[nodiscard]] bool surely_expired(const Window& at) const {
    return at.before >= window.after + ttl + kClockSlack;
  }
};

class SoakRun {
 public:
  SoakRun(int client, SoakClient& cache, const std::atomic<bool>& stopping,
          std::atomic<std::int64_t>& progress)
      : client_(client),
        cache_(cache),
        stopping_(stopping),
        progress_(progress),
        random_(static_cast<std::mt19937::result_type>(client * 7919 + 17)) {}

  ClientReport run() {
    std::uniform_int_distribution<int> percent{0, 99};
    while (!stopping_) {
      const int p = percent(random_);
      const Op op = p < 35   ? kGet
                    : p < 60 ? kPut
                    : p < 68 ? kRemove
                    : p < 82 ? kIncr
                    : p < 90 ? kAdd
                             : kGetAdded;
      step(op);
      ++report_.operations.at(op);
      progress_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }
    return std::move(report_);
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>{0, n - 1}(random_); }

  void wrong(const std::string& message) {
    ++report_.violations;
    if (report_.messages.size() < 20) {
      report_.messages.push_back("client " + std::to_string(client_) + ": " + message);
    }
  }

  // Runs the operation of op, classifying a failure; returns whether it succeeded.
  template <class Operation>
  bool attempt(Op op, Operation operation) {
    std::string message;
    try {
      operation();
      return true;
    } catch (const psycache::TimeoutError& e) {
      ++report_.errors.timeout;
      message = e.what();
    } catch (const psycache::ConnectionError& e) {
      ++report_.errors.connection;
      message = e.what();
    } catch (const psycache::ServerError& e) {
      ++report_.errors.server;
      message = e.what();
    } catch (const std::exception& e) {
      ++report_.errors.other;
      message = e.what();
    }
    if (report_.messages.size() < 20) {
      report_.messages.push_back("client " + std::to_string(client_) + ": " + kOpNames.at(op) +
                                 " failed: " + message);
    }
    return false;
  }

  void step(Op op) {
    switch (op) {
      case kGet:
        return get_owned(pick(kOwnedPerClient));
      case kPut:
        return put_owned(pick(kOwnedPerClient));
      case kRemove:
        return remove_owned(pick(kOwnedPerClient));
      case kIncr:
        return incr(pick(kCounters));
      case kAdd:
        return add(pick(kAddKeys));
      case kGetAdded:
        return get_added(pick(kAddKeys));
    }
  }

  void get_owned(int slot) {
    const std::string key = owned_key(client_, slot);
    const OwnedState& state = owned_.at(static_cast<std::size_t>(slot));
    std::optional<json> value;
    Window window{Clock::now(), {}};
    if (!attempt(kGet, [&] { value = cache_.get(key); })) return;
    window.after = Clock::now();
    switch (state.kind) {
      case OwnedState::Kind::kInDoubt:
        return;
      case OwnedState::Kind::kNone:
      case OwnedState::Kind::kRemoved:
        if (value) wrong(key + ": a read after a remove found " + value->dump());
        return;
      case OwnedState::Kind::kPut:
        break;
    }
    if (!value) {
      if (state.may_have_expired(window)) {
        ++report_.expiry_misses;
      } else {
        wrong(key + ": a live entry (version " + std::to_string(state.version) + ") was missed");
      }
      return;
    }
    if (value->value("v", std::int64_t{-1}) != state.version) {
      wrong(key + ": read " + value->dump() + ", the last put was version " +
            std::to_string(state.version));
    } else if (state.surely_expired(window)) {
      wrong(key + ": read version " + std::to_string(state.version) + " after its ttl");
    }
  }

  void put_owned(int slot) {
    const std::string key = owned_key(client_, slot);
    OwnedState& state = owned_.at(static_cast<std::size_t>(slot));
    const std::int64_t version = ++version_;
    const milliseconds ttl = owned_ttl(slot);
    // A value of a few hundred bytes, as a cache holds.
    const json value{{"v", version}, {"client", client_}, {"pad", std::string(version % 200, 'x')}};
    Window window{Clock::now(), {}};
    if (!attempt(kPut, [&] { cache_.put(key, value, ttl); })) {
      state.kind = OwnedState::Kind::kInDoubt;
      return;
    }
    window.after = Clock::now();
    state = {OwnedState::Kind::kPut, version, ttl, window};
  }

  void remove_owned(int slot) {
    const std::string key = owned_key(client_, slot);
    OwnedState& state = owned_.at(static_cast<std::size_t>(slot));
    bool removed = false;
    Window window{Clock::now(), {}};
    if (!attempt(kRemove, [&] { removed = cache_.remove(key); })) {
      state.kind = OwnedState::Kind::kInDoubt;
      return;
    }
    window.after = Clock::now();
    if (state.kind == OwnedState::Kind::kPut) {
      if (removed && state.surely_expired(window)) {
        wrong(key + ": remove found version " + std::to_string(state.version) + " after its ttl");
      } else if (!removed && !state.may_have_expired(window)) {
        wrong(key + ": remove missed a live entry (version " + std::to_string(state.version) + ")");
      }
    } else if (state.kind != OwnedState::Kind::kInDoubt && removed) {
      wrong(key + ": remove found an entry that was removed before or never written");
    }
    state = {OwnedState::Kind::kRemoved, 0, {}, window};
  }

  void incr(int counter) {
    const std::string key = counter_key(counter);
    const std::int64_t delta = 1 + pick(5);
    std::int64_t value = 0;
    if (!attempt(kIncr, [&] {
          value = cache_.incr(key, delta, std::chrono::duration_cast<milliseconds>(kLongTtl));
        })) {
      report_.counted_in_doubt[counter] += delta;
      return;
    }
    std::int64_t& mine = report_.counted[counter];
    mine += delta;
    // The other clients only add: the value grows past this client's own share, and past what
    // this client saw last time by at least this increment.
    std::int64_t& last = last_counter_[counter];
    if (value < mine || value < last + delta) {
      wrong(key + ": incr returned " + std::to_string(value) + " after " + std::to_string(last) +
            " (this client's increments: " + std::to_string(mine) + ")");
    }
    last = value;
  }

  void add(int i) {
    const std::int64_t id = (std::int64_t{client_} << 40) | ++version_;
    AddAttempt attempt_log{i, id, false, {Clock::now(), {}}};
    if (!attempt(kAdd, [&] {
          attempt_log.won = cache_.add(add_key(i), json{{"id", id}}, add_ttl(i));
        })) {
      return;
    }
    attempt_log.window.after = Clock::now();
    report_.adds.push_back(attempt_log);
  }

  void get_added(int i) {
    std::optional<json> value;
    AddRead read{i, std::nullopt, {Clock::now(), {}}};
    if (!attempt(kGetAdded, [&] { value = cache_.get(add_key(i)); })) return;
    read.window.after = Clock::now();
    if (value) read.id = value->value("id", std::int64_t{-1});
    report_.add_reads.push_back(read);
  }

  int client_;
  SoakClient& cache_;
  const std::atomic<bool>& stopping_;
  std::atomic<std::int64_t>& progress_;
  std::mt19937 random_;
  ClientReport report_;
  std::array<OwnedState, kOwnedPerClient> owned_{};
  std::map<int, std::int64_t> last_counter_;
  std::int64_t version_ = 0;
};

// Checks the adds and the reads of the add keys of all clients together; returns the wrong
// results found (at most 20 described in messages).
std::int64_t check_adds(const std::vector<ClientReport>& reports,
                        std::vector<std::string>& messages, std::int64_t& wins) {
  std::int64_t violations = 0;
  const auto wrong = [&](const std::string& message) {
    ++violations;
    if (messages.size() < 20) messages.push_back(message);
  };
  std::vector<std::vector<AddAttempt>> won(kAddKeys);
  std::vector<std::vector<AddAttempt>> refused(kAddKeys);
  std::map<std::int64_t, AddAttempt> by_id;
  for (const ClientReport& report : reports) {
    for (const AddAttempt& add : report.adds) {
      (add.won ? won : refused)[static_cast<std::size_t>(add.key)].push_back(add);
      by_id.emplace(add.id, add);
    }
  }
  for (int i = 0; i < kAddKeys; ++i) {
    auto& wins_of_key = won[static_cast<std::size_t>(i)];
    std::sort(wins_of_key.begin(), wins_of_key.end(), [](const AddAttempt& a, const AddAttempt& b) {
      return a.window.before < b.window.before;
    });
    wins += static_cast<std::int64_t>(wins_of_key.size());
    const auto ttl = add_ttl(i);
    // Two wins in one lifetime: even at their farthest apart, the second began before the first
    // expired.
    for (std::size_t a = 0; a < wins_of_key.size(); ++a) {
      for (std::size_t b = a + 1; b < wins_of_key.size(); ++b) {
        const Window& first = wins_of_key[a].window;
        const Window& second = wins_of_key[b].window;
        if (second.before > first.after + ttl + kClockSlack) break;
        const auto farthest = std::max(second.after - first.before, first.after - second.before);
        if (farthest + kClockSlack < ttl) {
          wrong(add_key(i) + ": two adds won within one lifetime of " +
                std::to_string(ttl.count()) + " ms");
        }
      }
    }
    // A refused add needs a winner that may have been live meanwhile.
    for (const AddAttempt& add : refused[static_cast<std::size_t>(i)]) {
      const bool explained =
          std::any_of(wins_of_key.begin(), wins_of_key.end(), [&](const AddAttempt& w) {
            return w.window.before <= add.window.after + kClockSlack &&
                   w.window.after + ttl + kClockSlack > add.window.before;
          });
      if (!explained) wrong(add_key(i) + ": an add was refused while no winner was live");
    }
  }
  for (const ClientReport& report : reports) {
    for (const AddRead& read : report.add_reads) {
      const auto ttl = add_ttl(read.key);
      const std::string key = add_key(read.key);
      if (read.id) {
        const auto found = by_id.find(*read.id);
        if (found == by_id.end() || !found->second.won) {
          wrong(key + ": a read returned a value whose add did not win");
          continue;
        }
        const Window& add = found->second.window;
        if (read.window.after + kClockSlack < add.before) {
          wrong(key + ": a read returned a value before its add was sent");
        } else if (read.window.before >= add.after + ttl + kClockSlack) {
          wrong(key + ": a read returned a value after its ttl");
        }
        continue;
      }
      // A miss while a winner, acknowledged before the read began, was surely live throughout.
      const auto& wins_of_key = won[static_cast<std::size_t>(read.key)];
      const bool live =
          std::any_of(wins_of_key.begin(), wins_of_key.end(), [&](const AddAttempt& w) {
            return w.window.after < read.window.before &&
                   read.window.after + kClockSlack < w.window.before + ttl;
          });
      if (live) wrong(key + ": a read missed a live added entry");
    }
  }
  return violations;
}

// --- the server's cleanup worker ----------------------------------------------------------------

// Points the cleanup worker at the test database, every second, and puts psycache.* back as it
// was found when destroyed (ALTER SYSTEM, as test/worker/worker.sh does).
class WorkerOnTestDatabase {
 public:
  WorkerOnTestDatabase() {
    const auto connection = psycache::test::connect();
    pqxx::nontransaction transaction{*connection};
    for (const auto& row : transaction.exec(
             "SELECT format('ALTER SYSTEM SET %s = %L', name, setting) FROM pg_settings "
             "WHERE name IN ('psycache.cleanup_interval', 'psycache.cleanup_databases') "
             "AND sourcefile LIKE '%postgresql.auto.conf'")) {
      saved_.push_back(row[0].as<std::string>());
    }
    transaction.exec("ALTER SYSTEM SET psycache.cleanup_interval = 1");
    transaction.exec(
        "ALTER SYSTEM SET psycache.cleanup_databases = " +
        transaction.quote(
            transaction.exec("SELECT quote_ident(current_database())")[0][0].as<std::string>()));
    transaction.exec("SELECT pg_reload_conf()");
  }
  WorkerOnTestDatabase(const WorkerOnTestDatabase&) = delete;
  WorkerOnTestDatabase& operator=(const WorkerOnTestDatabase&) = delete;
  WorkerOnTestDatabase(WorkerOnTestDatabase&&) = delete;
  WorkerOnTestDatabase& operator=(WorkerOnTestDatabase&&) = delete;
  ~WorkerOnTestDatabase() {
    try {
      const auto connection = psycache::test::connect();
      pqxx::nontransaction transaction{*connection};
      transaction.exec("ALTER SYSTEM RESET psycache.cleanup_interval");
      transaction.exec("ALTER SYSTEM RESET psycache.cleanup_databases");
      for (const std::string& statement : saved_) transaction.exec(statement);
      transaction.exec("SELECT pg_reload_conf()");
    } catch (const std::exception& e) {
      std::cerr << "could not put the worker's settings back: " << e.what() << '\n';
    }
  }

 private:
  std::vector<std::string> saved_;
};

// What the monitor saw of the worker (psycache_stats) and of the clients' progress.
struct MonitorReport {
  std::int64_t worker_passes = 0;   // distinct passes that began during the soak
  std::int64_t worker_deleted = 0;  // rows those passes deleted
  std::vector<std::string> worker_errors;
  std::chrono::nanoseconds longest_stall{};  // the longest any client went without an answer
  std::int64_t samples = 0;
};

// Samples psycache_stats() twice a second until monitor_stopping, and the clients' progress
// until they are stopping.
MonitorReport monitor(const std::atomic<bool>& monitor_stopping, const std::atomic<bool>& stopping,
                      const std::vector<std::atomic<std::int64_t>>& progress) {
  MonitorReport report;
  const auto connection = psycache::test::connect();
  const std::string start = [&] {
    pqxx::nontransaction transaction{*connection};
    return transaction.exec("SELECT now()::text")[0][0].as<std::string>();
  }();
  std::string last_run;
  while (!monitor_stopping) {
    std::this_thread::sleep_for(500ms);
    {
      pqxx::nontransaction transaction{*connection};
      const pqxx::result row = transaction.exec(
          "SELECT worker_last_run::text, worker_last_deleted, worker_last_error "
          "FROM psycache_stats() WHERE worker_last_run > " +
          transaction.quote(start) + "::timestamptz");
      ++report.samples;
      if (!row.empty() && row[0][0].as<std::string>() != last_run) {
        last_run = row[0][0].as<std::string>();
        ++report.worker_passes;
        report.worker_deleted += row[0][1].as<std::int64_t>(0);
        if (!row[0][2].is_null() && report.worker_errors.size() < 5) {
          report.worker_errors.push_back(row[0][2].as<std::string>());
        }
      }
    }
    if (stopping) continue;
    const auto now = Clock::now().time_since_epoch();
    for (const auto& client : progress) {
      const std::chrono::nanoseconds stall{now -
                                           Clock::duration{client.load(std::memory_order_relaxed)}};
      report.longest_stall = std::max(report.longest_stall, stall);
    }
  }
  return report;
}

}  // namespace

TEST_CASE("Soak: 16 sync and async clients on 1000 hot keys while both cleanups run", "[soak]") {
  const auto duration = soak_duration();
  psycache::test::reset_extension();
  const WorkerOnTestDatabase worker;

  // Each operation is bounded: an answer slower than this is a timeout, and counts as an error.
  constexpr auto kOperationTimeout = 15s;
  psycache::ConnectionPool sync_pool{
      psycache::test::dsn(), {.max_size = kClients / 2, .acquire_timeout = kOperationTimeout}};
  psycache::PostgresCache sync_cache{sync_pool, {.operation_timeout = kOperationTimeout}};

  psycache::test::AsyncCacheThread async_side{psycache::test::dsn(),
                                              {.max_size = 4,
                                               .acquire_timeout = kOperationTimeout,
                                               .operation_timeout = kOperationTimeout}};
  psycache::AsyncPostgresCache& async_cache = async_side.cache();

  // The client's cleanup thread, on a pool of its own.
  psycache::ConnectionPool cleanup_pool{psycache::test::dsn(), {.max_size = 1}};
  psycache::PostgresCache cleanup_cache{cleanup_pool, {.operation_timeout = kOperationTimeout}};
  std::atomic<std::int64_t> cleanup_errors{0};
  std::mutex cleanup_mutex;
  std::string cleanup_error;
  psycache::CleanupService cleanup =
      cleanup_cache.start_cleanup_thread(2s, [&](const psycache::Error& e) {
        ++cleanup_errors;
        const std::lock_guard lock{cleanup_mutex};
        cleanup_error = e.what();
      });

  std::vector<std::unique_ptr<SoakClient>> clients;
  for (int c = 0; c < kClients; ++c) {
    if (c % 2 == 0) {
      clients.push_back(std::make_unique<SyncClient>(sync_cache));
    } else {
      clients.push_back(std::make_unique<AsyncClient>(async_cache));
    }
  }

  std::atomic<bool> stopping{false};
  std::atomic<bool> monitor_stopping{false};
  std::vector<std::atomic<std::int64_t>> progress(kClients);
  for (auto& p : progress) p = Clock::now().time_since_epoch().count();
  auto monitor_report =
      std::async(std::launch::async, [&] { return monitor(monitor_stopping, stopping, progress); });
  std::vector<std::future<ClientReport>> runs;
  runs.reserve(kClients);
  const auto started = std::chrono::steady_clock::now();
  for (int c = 0; c < kClients; ++c) {
    runs.push_back(std::async(std::launch::async, [&, c] {
      return SoakRun{c, *clients[static_cast<std::size_t>(c)], stopping,
                     progress[static_cast<std::size_t>(c)]}
          .run();
    }));
  }
  std::this_thread::sleep_for(duration);
  stopping = true;
  std::vector<ClientReport> reports;
  reports.reserve(kClients);
  for (auto& run : runs) reports.push_back(run.get());
  const auto elapsed = std::chrono::steady_clock::now() - started;
  // The worker keeps its last pass; a last sample after the clients.
  std::this_thread::sleep_for(1s);
  monitor_stopping = true;
  const MonitorReport watched = monitor_report.get();
  const bool cleanup_stopped = cleanup.stop(10s);

  // The counters, read once nothing writes any more.
  std::int64_t counter_mismatches = 0;
  std::vector<std::string> messages;
  for (int i = 0; i < kCounters; ++i) {
    std::int64_t expected = 0;
    std::int64_t in_doubt = 0;
    for (const ClientReport& report : reports) {
      if (const auto it = report.counted.find(i); it != report.counted.end()) {
        expected += it->second;
      }
      if (const auto it = report.counted_in_doubt.find(i); it != report.counted_in_doubt.end()) {
        in_doubt += it->second;
      }
    }
    const std::optional<json> value = sync_cache.get_raw(counter_key(i));
    const std::int64_t actual = value ? value->get<std::int64_t>() : 0;
    if (actual < expected || actual > expected + in_doubt) {
      ++counter_mismatches;
      if (messages.size() < 20) {
        messages.push_back(counter_key(i) + " is " + std::to_string(actual) +
                           ", the clients were " + "acknowledged " + std::to_string(expected) +
                           " in all");
      }
    }
  }
  std::int64_t add_wins = 0;
  const std::int64_t add_violations = check_adds(reports, messages, add_wins);

  std::int64_t operations = 0;
  std::array<std::int64_t, 6> by_op{};
  ErrorCounts errors;
  std::int64_t violations = 0;
  std::int64_t expiry_misses = 0;
  for (const ClientReport& report : reports) {
    for (std::size_t op = 0; op < by_op.size(); ++op) by_op.at(op) += report.operations.at(op);
    errors.connection += report.errors.connection;
    errors.timeout += report.errors.timeout;
    errors.server += report.errors.server;
    errors.other += report.errors.other;
    violations += report.violations;
    expiry_misses += report.expiry_misses;
    for (const std::string& message : report.messages) {
      if (messages.size() < 40) messages.push_back(message);
    }
  }
  for (const std::int64_t n : by_op) operations += n;
  const double seconds = std::chrono::duration<double>(elapsed).count();

  std::cout << "soak: " << kClients << " clients (" << kClients / 2 << " sync, " << kClients / 2
            << " async), 1000 keys, " << seconds << " s\n"
            << "soak: " << operations << " operations, "
            << static_cast<std::int64_t>(static_cast<double>(operations) / seconds) << " ops/s (";
  for (std::size_t op = 0; op < by_op.size(); ++op) {
    std::cout << (op == 0 ? "" : ", ") << kOpNames.at(op) << " " << by_op.at(op);
  }
  std::cout << ")\n"
            << "soak: errors " << errors.total() << " (connection " << errors.connection
            << ", timeout " << errors.timeout << ", server " << errors.server << ", other "
            << errors.other << "), cleanup thread errors " << cleanup_errors << ", wrong results "
            << violations + add_violations + counter_mismatches << " (owned keys " << violations
            << ", add keys " << add_violations << ", counters " << counter_mismatches << ")\n"
            << "soak: misses explained by expiry " << expiry_misses << ", adds won " << add_wins
            << ", worker passes " << watched.worker_passes << " (deleted " << watched.worker_deleted
            << "), longest wait for an answer "
            << std::chrono::duration_cast<milliseconds>(watched.longest_stall).count() << " ms\n";
  for (const std::string& message : messages) std::cout << "soak: " << message << '\n';
  std::cout << std::flush;

  CHECK(errors.total() == 0);
  CHECK(cleanup_errors == 0);
  {
    const std::lock_guard lock{cleanup_mutex};
    INFO("cleanup thread: " << cleanup_error);
    CHECK(cleanup_error.empty());
  }
  CHECK(violations == 0);
  CHECK(add_violations == 0);
  CHECK(counter_mismatches == 0);
  CHECK(cleanup_stopped);
  // Every kind of operation ran, entries really expired, and adds won again after expiry.
  for (const std::int64_t n : by_op) CHECK(n > 0);
  CHECK(expiry_misses > 0);
  CHECK(add_wins > kAddKeys);
  // The worker ran during the soak, and deleted expired entries without an error.
  CHECK(watched.worker_passes >= 2);
  CHECK(watched.worker_deleted > 0);
  for (const std::string& error : watched.worker_errors) UNSCOPED_INFO("worker: " << error);
  CHECK(watched.worker_errors.empty());
  // No client went without an answer for longer than an operation may take: no deadlock.
  CHECK(watched.longest_stall < kOperationTimeout + 5s);
}
