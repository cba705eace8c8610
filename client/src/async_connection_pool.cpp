#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <iterator>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <string>
#include <string_view>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unordered_set>
#include <utility>
#include <vector>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include <psycache/async_connection_pool.hpp>
#include <psycache/errors.hpp>

#include "conninfo.hpp"

namespace psycache {
namespace detail {

namespace {

using Clock = std::chrono::steady_clock;

// libpq's last error on pg, on one line.
std::string libpq_message(const PGconn* pg) {
  std::string message = pg != nullptr ? PQerrorMessage(pg) : "out of memory";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  return message.empty() ? "unknown libpq error" : message;
}

template <class ErrorType>
std::exception_ptr error(const std::string& message) {
  return std::make_exception_ptr(ErrorType(message));
}

// Ends the pipeline's current sync group. libpq 17 can do so without sending
// at once, so that a whole flight goes out in one write.
int pipeline_sync(PGconn* pg) {
#ifdef LIBPQ_HAS_SEND_PIPELINE_SYNC
  return PQsendPipelineSync(pg);
#else
  return PQpipelineSync(pg);
#endif
}

// Holds back (on) or pushes out (off) what is written to a TCP socket, so that
// a flight whose syncs libpq sends one by one reaches the server in one
// segment: the server's backend then wakes once for the flight. Returns
// false where there is no TCP (a Unix-domain socket).
bool cork(int socket, bool on) {
  const int value = on ? 1 : 0;
  return ::setsockopt(socket, IPPROTO_TCP, TCP_CORK, &value, sizeof value) == 0;
}

// SQLSTATE 57014: the statement was cancelled (by a cancel request or by
// statement_timeout).
bool cancelled_on_server(const PGresult* result) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  return state != nullptr && std::string_view{state} == "57014";
}

// A query and the pool's bookkeeping for it.
struct Job {
  std::shared_ptr<AsyncQuery> query;
  Clock::time_point start;
  // It was sent once and must run again (aborted by another query's error,
  // or hit by a cancel request meant for another query): it runs with a sync
  // of its own, and its wait for a connection is over.
  bool retry = false;
  // Set when query is a batch of queued queries (see AsyncBatcher).
  std::shared_ptr<AsyncBatch> batch{};

  // Whether it may share a sync with the query after it.
  [[nodiscard]] bool groupable() const noexcept { return query->read_only && !retry; }
};

// The query of job's batch that is query, or nullptr.
AsyncQuery* batched(const Job& job, const AsyncQuery* query) {
  if (!job.batch) return nullptr;
  const auto& queries = job.batch->queries;
  const auto found = std::find_if(queries.begin(), queries.end(),
                                  [&](const auto& member) { return member.get() == query; });
  return found == queries.end() ? nullptr : found->get();
}

// Whether a query of batch still waits for its answer.
bool awaited(const AsyncBatch& batch) {
  return std::any_of(batch.queries.begin(), batch.queries.end(),
                     [](const auto& member) { return !member->completed; });
}

// The queries at the head of waiting (at most limit) that their batcher sends as one, taken out
// of waiting as one job; nullopt when the head runs alone. A query that runs again runs alone.
std::optional<Job> take_batch(std::deque<Job>& waiting, std::size_t limit) {
  const AsyncBatcher* batcher = waiting.front().query->batcher;
  if (batcher == nullptr || limit < 2) return std::nullopt;
  std::vector<std::shared_ptr<AsyncQuery>> queued;
  for (const Job& job : waiting) {
    if (queued.size() == limit || job.retry || job.query->batcher != batcher) break;
    queued.push_back(job.query);
  }
  if (queued.size() < 2) return std::nullopt;
  std::shared_ptr<AsyncBatch> batch = batcher->combine(queued);
  if (!batch) return std::nullopt;
  Job job{batch, waiting.front().start, false, batch};
  waiting.erase(waiting.begin(),
                waiting.begin() + static_cast<std::ptrdiff_t>(batch->queries.size()));
  return job;
}

// When a query's operation_timeout ends.
struct Deadline {
  Clock::time_point at;
  std::weak_ptr<AsyncQuery> query;
};

}  // namespace

class AsyncConnection;

// What an AsyncConnectionPool is; shared with its connections' pending
// handlers, which hold it weakly.
class AsyncPoolCore : public std::enable_shared_from_this<AsyncPoolCore> {
 public:
  AsyncPoolCore(asio::any_io_executor executor, std::string conninfo, AsyncPoolOptions options)
      : executor_(std::move(executor)),
        conninfo_(std::move(conninfo)),
        options_(options),
        timer_(executor_) {}

  AsyncPoolCore(const AsyncPoolCore&) = delete;
  AsyncPoolCore& operator=(const AsyncPoolCore&) = delete;
  AsyncPoolCore(AsyncPoolCore&&) = delete;
  AsyncPoolCore& operator=(AsyncPoolCore&&) = delete;
  ~AsyncPoolCore() { canceller_.join(); }

  void submit(std::shared_ptr<AsyncQuery> query);
  void cancel(const std::shared_ptr<AsyncQuery>& query, std::exception_ptr reason);
  void close();

  // Completes query (job's query) unless it has been completed already.
  static void finish(AsyncQuery& query, PgResult result, std::exception_ptr failure);
  static void finish(Job& job, PgResult result, std::exception_ptr failure) {
    finish(*job.query, std::move(result), std::move(failure));
  }
  // Puts jobs that must run again at the head of the queue, in their order.
  void retry(std::vector<Job>& jobs);
  // Hands waiting queries to idle connections and opens connections as needed.
  void dispatch();
  void on_closed(const AsyncConnection* connection, bool while_connecting,
                 const std::string& message);

  [[nodiscard]] std::size_t size() const noexcept { return connections_.size(); }
  [[nodiscard]] std::size_t idle() const noexcept;

  const asio::any_io_executor& executor() const noexcept { return executor_; }
  const std::string& conninfo() const noexcept { return conninfo_; }
  const AsyncPoolOptions& options() const noexcept { return options_; }
  asio::thread_pool& canceller() noexcept { return canceller_; }

 private:
  // Dispatches once the handlers queued now have run, so that the queries
  // they submit go out together.
  void dispatch_soon();
  void arm_timer();
  void on_timer();

  asio::any_io_executor executor_;
  std::string conninfo_;
  AsyncPoolOptions options_;
  std::vector<std::shared_ptr<AsyncConnection>> connections_;
  // Queries not sent yet: retries first, then new ones in order of arrival.
  std::deque<Job> waiting_;
  // The operation deadlines in order of submission (which is their order).
  std::deque<Deadline> deadlines_;
  // One timer for every acquire and operation deadline: the earliest one.
  asio::steady_timer timer_;
  std::optional<Clock::time_point> timer_at_;
  std::uint64_t timer_generation_ = 0;
  bool closed_ = false;
  bool dispatching_ = false;
  bool dispatch_again_ = false;
  bool dispatch_posted_ = false;
  // Sends the server-side cancel requests, which block (PQcancel opens a new
  // connection); never the executor's threads.
  asio::thread_pool canceller_{1};
};

// One libpq connection in non-blocking pipeline mode.
//
// It carries one flight of queries at a time: everything that waited while
// its previous flight was out goes in one write, and it takes the next flight
// only when every answer is in. The server's backend therefore reads a whole
// flight, answers it and then waits for the client, instead of running
// without pause on queries that keep arriving: a backend that never waits
// keeps the CPU for whole scheduler slices while the other connections'
// backends, with queries as old, wait for it.
class AsyncConnection : public std::enable_shared_from_this<AsyncConnection> {
 public:
  enum class State { connecting, ready, closed };

  explicit AsyncConnection(const std::shared_ptr<AsyncPoolCore>& core)
      : core_(core), socket_(core->executor()), timer_(core->executor()) {}

  AsyncConnection(const AsyncConnection&) = delete;
  AsyncConnection& operator=(const AsyncConnection&) = delete;
  AsyncConnection(AsyncConnection&&) = delete;
  AsyncConnection& operator=(AsyncConnection&&) = delete;
  ~AsyncConnection() { release(); }

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_.size(); }
  // Whether it takes a new flight now: open, clean, every answer in.
  [[nodiscard]] bool accepts() const noexcept {
    return state_ == State::ready && !draining_ && in_flight_.empty() && cancels_pending_ == 0;
  }

  void start();
  // Sends the first count jobs of waiting (taking them out) in one write.
  void send(std::deque<Job>& waiting, std::size_t count);
  // If query is in flight here: marks it abandoned, completes it with reason,
  // takes no new query until the server has answered (and the cancel request
  // is through), and asks the server to cancel it. Returns whether it was here.
  bool abandon(const AsyncQuery* query, const std::exception_ptr& reason);
  // Closes the connection; every query in flight fails with failure.
  void close(const std::string& message, const std::exception_ptr& failure);

 private:
  // A query sent and not yet answered (up to its sync).
  struct Entry {
    Job job;
    PgResult result;
    bool prepare_pending = false;  // a PREPARE went out before it; its result comes first
    bool sync_after = false;       // a sync follows it: it ends its sync group
    bool abandoned = false;        // its caller has had an answer already; drop the result
    bool cancel_sent = false;
  };

  void wait_connect(PostgresPollingStatusType status);
  void on_connect_ready(const asio::error_code& ec);
  void on_connected();
  void rewrap();
  void release() noexcept;
  void arm_read();
  void on_readable();
  void flush();
  void read_available();
  void handle(PgResult result);
  void finish_group();
  void check_clean();
  void cancel_on_server_if_running();
  void fail(const std::string& message) {
    close(message, error<ConnectionError>("the connection to the server broke: " + message));
  }

  std::weak_ptr<AsyncPoolCore> core_;
  PGconn* pg_ = nullptr;
  // Watches libpq's socket; released, never closed, since libpq owns it.
  asio::posix::stream_descriptor socket_;
  // The connect deadline, then the deadline for becoming idle after a cancel.
  asio::steady_timer timer_;
  State state_ = State::connecting;
  std::deque<Entry> in_flight_;
  // How many entries at the front have their statement's result (the rest of
  // the current sync group runs or waits on the server).
  std::size_t answered_ = 0;
  // A result of the current sync group that belongs to no statement (a
  // failed commit at the sync): every query of the group failed with it.
  PgResult group_error_;
  std::unordered_set<std::string> prepared_;
  // Cancel requests sent to the server and not yet through.
  std::size_t cancels_pending_ = 0;
  // A cancel request went out since the connection was last clean: a query
  // failing with SQLSTATE 57014 may have been hit by it.
  bool cancel_requested_ = false;
  bool can_cork_ = true;  // until setting TCP_CORK failed once (no TCP)
  bool reading_ = false;  // a read wait is pending
  bool writing_ = false;  // a write wait is pending
  bool in_read_ = false;  // read_available is running
  bool draining_ = false;
};

// --- the connection ------------------------------------------------------------

void AsyncConnection::start() {
  auto core = core_.lock();
  if (!core) return;
  pg_ = PQconnectStart(core->conninfo().c_str());
  if (pg_ == nullptr || PQstatus(pg_) == CONNECTION_BAD) {
    const std::string message = libpq_message(pg_);
    close(message, error<ConnectionError>("could not connect to the server: " + message));
    return;
  }
  if (const auto timeout = core->options().connect_timeout; timeout.count() > 0) {
    timer_.expires_after(timeout);
    timer_.async_wait([weak = weak_from_this(), timeout](const asio::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->state_ != State::connecting) return;
      const std::string message = "timeout expired after " + std::to_string(timeout.count()) + " s";
      self->close(message, error<ConnectionError>("could not connect to the server: " + message));
    });
  }
  // libpq's protocol: behave as if PQconnectPoll had asked for writability.
  wait_connect(PGRES_POLLING_WRITING);
}

// libpq may close its socket and open another one during PQconnectPoll (the
// next host, another address), possibly under the same number, so the socket
// is registered afresh before every wait of the connect phase.
void AsyncConnection::rewrap() {
  release();
  const int fd = PQsocket(pg_);
  if (fd >= 0) socket_.assign(fd);
}

void AsyncConnection::release() noexcept {
  if (socket_.is_open()) (void)socket_.release();
}

void AsyncConnection::wait_connect(PostgresPollingStatusType status) {
  try {
    rewrap();
  } catch (const std::system_error& e) {
    const std::string message = std::string{"cannot watch the socket: "} + e.what();
    close(message, error<ConnectionError>("could not connect to the server: " + message));
    return;
  }
  socket_.async_wait(
      status == PGRES_POLLING_READING ? asio::posix::stream_descriptor::wait_read
                                      : asio::posix::stream_descriptor::wait_write,
      [self = shared_from_this()](const asio::error_code& ec) { self->on_connect_ready(ec); });
}

void AsyncConnection::on_connect_ready(const asio::error_code& ec) {
  if (state_ != State::connecting) return;
  if (ec) {
    const std::string message = "waiting for the socket failed: " + ec.message();
    close(message, error<ConnectionError>("could not connect to the server: " + message));
    return;
  }
  switch (PQconnectPoll(pg_)) {
    case PGRES_POLLING_OK:
      on_connected();
      return;
    case PGRES_POLLING_READING:
      wait_connect(PGRES_POLLING_READING);
      return;
    case PGRES_POLLING_WRITING:
      wait_connect(PGRES_POLLING_WRITING);
      return;
    default: {
      const std::string message = libpq_message(pg_);
      close(message, error<ConnectionError>("could not connect to the server: " + message));
      return;
    }
  }
}

void AsyncConnection::on_connected() {
  timer_.cancel();
  if (PQsetnonblocking(pg_, 1) != 0 || PQenterPipelineMode(pg_) != 1) {
    const std::string message = libpq_message(pg_);
    close(message, error<ConnectionError>("could not set up the connection: " + message));
    return;
  }
  try {
    rewrap();
  } catch (const std::system_error& e) {
    fail(std::string{"cannot watch the socket: "} + e.what());
    return;
  }
  state_ = State::ready;
  // A read wait stays armed while the connection is open, so a connection the
  // server closed while idle (a restart) is noticed and dropped at once.
  arm_read();
  if (auto core = core_.lock()) core->dispatch();
}

void AsyncConnection::send(std::deque<Job>& waiting, std::size_t count) {
  std::array<const char*, AsyncQuery::kMaxParams> values{};
  std::array<int, AsyncQuery::kMaxParams> lengths{};
  const std::array<int, AsyncQuery::kMaxParams> formats{};  // all text
#ifndef LIBPQ_HAS_SEND_PIPELINE_SYNC
  // libpq before 17 sends at every sync: several syncs go out corked.
  count = std::min(count, waiting.size());
  bool several_syncs = false;
  for (std::size_t i = 0; i + 1 < count && !several_syncs; ++i) {
    several_syncs = !waiting[i].groupable() || !waiting[i + 1].groupable();
  }
  bool corked = false;
  if (several_syncs && can_cork_) {
    corked = cork(PQsocket(pg_), true);
    can_cork_ = corked;
  }
#endif
  for (std::size_t n = 0; n < count && !waiting.empty() && state_ == State::ready; ++n) {
    std::optional<Job> batch = take_batch(waiting, count - n);
    Entry& entry = in_flight_.emplace_back();
    if (batch) {
      n += batch->batch->queries.size() - 1;
      entry.job = std::move(*batch);
    } else {
      entry.job = std::move(waiting.front());
      waiting.pop_front();
    }
    const AsyncQuery& query = *entry.job.query;
    const AsyncStatement& statement = *query.statement;
    if (!prepared_.contains(statement.name)) {
      if (PQsendPrepare(pg_, statement.name.c_str(), statement.sql.c_str(), 0, nullptr) != 1) {
        fail(libpq_message(pg_));
        return;
      }
      prepared_.insert(statement.name);
      entry.prepare_pending = true;
    }
    for (std::size_t i = 0; i < query.param_count; ++i) {
      values.at(i) = query.params.at(i).data();
      lengths.at(i) = static_cast<int>(query.params.at(i).size());
    }
    if (PQsendQueryPrepared(pg_, statement.name.c_str(), static_cast<int>(query.param_count),
                            values.data(), lengths.data(), formats.data(), 0) != 1) {
      fail(libpq_message(pg_));
      return;
    }
    // A sync after every query but between read-only ones: an error aborts
    // the commands up to the next sync, so a query that writes fails alone
    // and its effect never depends on another query's fate.
    const bool last = n + 1 == count || waiting.empty();
    entry.sync_after = last || !entry.job.groupable() || !waiting.front().groupable();
    if (entry.sync_after && pipeline_sync(pg_) != 1) {
      fail(libpq_message(pg_));
      return;
    }
    // A batch ends its flight: should it fail, its queries run again before anything queued
    // after them, as they would have alone.
    if (entry.job.batch) break;
  }
  flush();
#ifndef LIBPQ_HAS_SEND_PIPELINE_SYNC
  if (corked && state_ == State::ready) (void)cork(PQsocket(pg_), false);
#endif
  // Sending may have read input into libpq's buffer, which no read wait would report.
  if (state_ == State::ready && !in_read_) read_available();
}

void AsyncConnection::flush() {
  if (state_ != State::ready) return;
  const int status = PQflush(pg_);
  if (status < 0) {
    fail(libpq_message(pg_));
  } else if (status == 1 && !writing_) {
    writing_ = true;
    socket_.async_wait(asio::posix::stream_descriptor::wait_write,
                       [self = shared_from_this()](const asio::error_code& ec) {
                         self->writing_ = false;
                         if (self->state_ != State::ready) return;
                         if (ec) {
                           self->fail("waiting for the socket failed: " + ec.message());
                           return;
                         }
                         self->flush();
                         if (self->state_ == State::ready && !self->in_read_) {
                           self->read_available();
                         }
                       });
  }
}

void AsyncConnection::arm_read() {
  if (reading_ || state_ != State::ready) return;
  reading_ = true;
  socket_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](const asio::error_code& ec) {
                       self->reading_ = false;
                       if (self->state_ != State::ready) return;
                       if (ec) {
                         self->fail("waiting for the socket failed: " + ec.message());
                         return;
                       }
                       self->on_readable();
                     });
}

void AsyncConnection::on_readable() {
  // The reactor reports readiness by edge: whatever stays in the socket after
  // one read (libpq reads at most what its buffer holds) would never be
  // reported again, so reading goes on while answers are awaited and bytes wait.
  for (;;) {
    if (PQconsumeInput(pg_) != 1) {
      fail(libpq_message(pg_));
      return;
    }
    read_available();
    if (state_ != State::ready) return;
    int pending = 0;
    if (in_flight_.empty() || ::ioctl(PQsocket(pg_), FIONREAD, &pending) != 0 || pending <= 0) {
      break;
    }
  }
  // Reading may have let libpq send what was left.
  flush();
  arm_read();
}

void AsyncConnection::read_available() {
  in_read_ = true;
  bool freed = false;
  bool after_end = false;
  while (state_ == State::ready && !in_flight_.empty() && PQisBusy(pg_) == 0) {
    PGresult* result = PQgetResult(pg_);
    // nullptr ends one command's results; the sync's result ends a sync
    // group. Two in a row mean libpq has nothing queued that the pool awaits.
    if (result == nullptr) {
      if (after_end) {
        in_read_ = false;
        fail("the server's answers are out of step with the queries sent");
        return;
      }
      after_end = true;
      continue;
    }
    after_end = false;
    freed = freed || PQresultStatus(result) == PGRES_PIPELINE_SYNC;
    handle(PgResult{result});
  }
  in_read_ = false;
  if (state_ == State::ready && PQstatus(pg_) == CONNECTION_BAD) {
    fail(libpq_message(pg_));
    return;
  }
  if (freed && state_ == State::ready && in_flight_.empty()) {
    if (auto core = core_.lock()) core->dispatch();
  }
}

void AsyncConnection::handle(PgResult result) {
  const ExecStatusType status = PQresultStatus(result.get());
  if (status == PGRES_PIPELINE_SYNC) {
    finish_group();
    return;
  }
  // The current sync group has all its statements' results: this one is the
  // sync's own (the commit failed).
  if (answered_ == in_flight_.size() || (answered_ > 0 && in_flight_[answered_ - 1].sync_after)) {
    if (!group_error_) group_error_ = std::move(result);
    return;
  }
  Entry& current = in_flight_[answered_];
  if (current.prepare_pending) {
    // The PREPARE's result; if it failed, the query after it is aborted and
    // the PREPARE's error is the one to report.
    current.prepare_pending = false;
    if (status == PGRES_COMMAND_OK) return;
    prepared_.erase(current.job.query->statement->name);
    current.result = std::move(result);
    return;
  }
  if (!current.result) current.result = std::move(result);
  ++answered_;
  if (draining_) cancel_on_server_if_running();
}

// The sync of the group at the front came: every query of the group gets its
// answer, or runs again when it was aborted by another one's error or hit by
// a cancel request meant for another one.
void AsyncConnection::finish_group() {
  const auto end = std::find_if(in_flight_.begin(), in_flight_.end(),
                                [](const Entry& e) { return e.sync_after; });
  if (end == in_flight_.end()) {
    fail("the server's answers are out of step with the queries sent");
    return;
  }
  const auto size = static_cast<std::size_t>(end - in_flight_.begin()) + 1;
  PgResult group_error = std::move(group_error_);
  std::vector<Job> again;
  auto core = core_.lock();
  // A batch that failed on the server did nothing (its transaction rolled back): its queries run
  // again, each alone, so that one bad query fails only itself.
  const auto answer = [&](Job& job, PgResult result) {
    const bool rerun = job.batch && PQresultStatus(result.get()) == PGRES_FATAL_ERROR;
    core->finish(job, std::move(result), nullptr);
    if (!rerun) return;
    for (const auto& query : job.batch->queries) {
      if (!query->completed) again.push_back(Job{query, job.start, true, nullptr});
    }
  };
  for (std::size_t i = 0; i < size; ++i) {
    Entry entry = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (entry.abandoned || !core) continue;
    if (group_error) {
      // The group's transaction failed as a whole: the first query reports
      // it, the others (read-only) run again.
      if (i == 0 || entry.job.retry) {
        answer(entry.job, std::move(group_error));
      } else {
        again.push_back(std::move(entry.job));
      }
      continue;
    }
    if (!entry.result) {
      core->finish(entry.job, nullptr,
                   error<Error>("the server sent no result for the query (protocol error)"));
      continue;
    }
    const ExecStatusType status = PQresultStatus(entry.result.get());
    const bool aborted = status == PGRES_PIPELINE_ABORTED;
    const bool stray_cancel =
        cancel_requested_ && status == PGRES_FATAL_ERROR && cancelled_on_server(entry.result.get());
    if ((aborted || stray_cancel) && !entry.job.retry) {
      entry.job.retry = true;
      again.push_back(std::move(entry.job));
      continue;
    }
    answer(entry.job, std::move(entry.result));
  }
  answered_ = 0;
  if (core && !again.empty()) core->retry(again);
  if (state_ != State::ready) return;
  if (draining_) {
    if (!in_flight_.empty()) {
      cancel_on_server_if_running();
    } else {
      check_clean();
    }
  }
}

// A connection that was draining is clean again once every answer and every
// cancel request is through, and it is idle, outside a transaction, still in
// pipeline mode.
void AsyncConnection::check_clean() {
  if (!draining_ || !in_flight_.empty() || cancels_pending_ > 0 || state_ != State::ready) return;
  if (PQtransactionStatus(pg_) == PQTRANS_IDLE && PQpipelineStatus(pg_) == PQ_PIPELINE_ON) {
    draining_ = false;
    cancel_requested_ = false;
    timer_.cancel();
  } else {
    fail("the connection was not idle after a cancelled query");
  }
}

bool AsyncConnection::abandon(const AsyncQuery* query, const std::exception_ptr& reason) {
  const auto entry = std::find_if(in_flight_.begin(), in_flight_.end(), [&](const Entry& e) {
    return e.job.query.get() == query || batched(e.job, query) != nullptr;
  });
  if (entry == in_flight_.end()) return false;
  if (AsyncQuery* member = batched(entry->job, query)) {
    // One query of a batch completes now; the batch runs on for the others (so this one may
    // still take effect), and is cancelled once none is left.
    AsyncPoolCore::finish(*member, nullptr, reason);
    if (awaited(*entry->job.batch)) return true;
  }
  entry->abandoned = true;
  if (auto core = core_.lock()) core->finish(entry->job, nullptr, reason);
  if (!draining_) {
    draining_ = true;
    auto core = core_.lock();
    if (const auto timeout = core ? core->options().connect_timeout : std::chrono::seconds{0};
        timeout.count() > 0) {
      timer_.expires_after(timeout);
      timer_.async_wait([weak = weak_from_this()](const asio::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || !self->draining_ || self->state_ != State::ready) return;
        self->fail("the server did not answer a cancelled query in time");
      });
    }
  }
  cancel_on_server_if_running();
  return true;
}

// The server runs a connection's queries in order. Every statement of the
// sync group at the front that has no answer yet may be the one running
// (the server answers a group only at its sync), so a cancel request goes out
// once one of them is abandoned; an abandoned query further back waits until
// its group is at the front. A request that hits another query of the group,
// or arrives late and hits the next one, makes that query fail with SQLSTATE
// 57014, rolled back; it then runs again.
void AsyncConnection::cancel_on_server_if_running() {
  bool wanted = false;
  for (std::size_t i = answered_; i < in_flight_.size(); ++i) {
    Entry& entry = in_flight_[i];
    if (entry.abandoned && !entry.cancel_sent && !entry.result) {
      entry.cancel_sent = true;
      wanted = true;
    }
    if (entry.sync_after) break;
  }
  if (!wanted) return;
  cancel_requested_ = true;
  auto core = core_.lock();
  PGcancel* cancel = PQgetCancel(pg_);
  if (!core || cancel == nullptr) {
    fail("cannot cancel the query on the server");
    return;
  }
  ++cancels_pending_;
  asio::post(core->canceller(), [cancel, weak = weak_from_this(), executor = core->executor()] {
    std::array<char, 256> reason{};
    const bool sent = PQcancel(cancel, reason.data(), static_cast<int>(reason.size())) == 1;
    PQfreeCancel(cancel);
    asio::post(executor, [weak, sent, message = std::string{reason.data()}] {
      auto self = weak.lock();
      if (!self || self->state_ != State::ready) return;
      --self->cancels_pending_;
      if (!sent) {
        self->fail("the cancel request failed: " + message);
        return;
      }
      self->check_clean();
      if (self->accepts()) {
        if (auto pool = self->core_.lock()) pool->dispatch();
      }
    });
  });
}

void AsyncConnection::close(const std::string& message, const std::exception_ptr& failure) {
  if (state_ == State::closed) return;
  const bool while_connecting = state_ == State::connecting;
  state_ = State::closed;
  timer_.cancel();
  // Cancels the pending waits; libpq closes the socket itself.
  release();
  if (pg_ != nullptr) PQfinish(pg_);
  pg_ = nullptr;
  std::deque<Entry> entries = std::move(in_flight_);
  in_flight_.clear();
  answered_ = 0;
  auto core = core_.lock();
  if (!core) return;
  for (Entry& entry : entries) {
    if (!entry.abandoned) core->finish(entry.job, nullptr, failure);
  }
  core->on_closed(this, while_connecting, message);
}

// --- the pool ------------------------------------------------------------------

void AsyncPoolCore::submit(std::shared_ptr<AsyncQuery> query) {
  if (closed_) {
    asio::post(executor_, [query = std::move(query)] {
      if (query->completed) return;
      query->completed = true;
      query->complete(nullptr, error<ConnectionError>("the connection pool is closed"));
    });
    return;
  }
  const auto now = Clock::now();
  if (options_.operation_timeout.count() > 0) {
    deadlines_.push_back({now + options_.operation_timeout, query});
  }
  waiting_.push_back({std::move(query), now});
  dispatch_soon();
}

void AsyncPoolCore::dispatch_soon() {
  if (dispatch_posted_) return;
  dispatch_posted_ = true;
  asio::post(executor_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->dispatch_posted_ = false;
      self->dispatch();
    }
  });
}

void AsyncPoolCore::retry(std::vector<Job>& jobs) {
  for (Job& job : jobs) job.retry = true;
  waiting_.insert(waiting_.begin(), std::make_move_iterator(jobs.begin()),
                  std::make_move_iterator(jobs.end()));
  dispatch_soon();
}

// Arms the timer for the earliest deadline, unless it is armed for that or
// an earlier one already (it then re-arms itself when it fires).
void AsyncPoolCore::arm_timer() {
  while (!deadlines_.empty()) {
    const auto query = deadlines_.front().query.lock();
    if (query && !query->completed) break;
    deadlines_.pop_front();
  }
  std::optional<Clock::time_point> earliest;
  if (!deadlines_.empty()) earliest = deadlines_.front().at;
  if (options_.acquire_timeout.count() > 0) {
    const auto first =
        std::find_if(waiting_.begin(), waiting_.end(), [](const Job& job) { return !job.retry; });
    if (first != waiting_.end()) {
      const auto at = first->start + options_.acquire_timeout;
      if (!earliest || at < *earliest) earliest = at;
    }
  }
  if (!earliest || (timer_at_ && *timer_at_ <= *earliest)) return;
  timer_at_ = earliest;
  timer_.expires_at(*earliest);
  timer_.async_wait(
      [weak = weak_from_this(), generation = ++timer_generation_](const asio::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || self->timer_generation_ != generation) return;
        self->timer_at_.reset();
        self->on_timer();
      });
}

void AsyncPoolCore::on_timer() {
  const auto now = Clock::now();
  if (options_.acquire_timeout.count() > 0) {
    // The new queries wait in order of arrival: the expired ones lead them.
    std::vector<Job> expired;
    for (auto job = waiting_.begin(); job != waiting_.end();) {
      if (job->retry) {
        ++job;
      } else if (now >= job->start + options_.acquire_timeout) {
        expired.push_back(std::move(*job));
        job = waiting_.erase(job);
      } else {
        break;
      }
    }
    const auto failure = error<TimeoutError>("no connection became free within " +
                                             std::to_string(options_.acquire_timeout.count()) +
                                             " ms (AsyncPoolOptions::acquire_timeout)");
    for (Job& job : expired) finish(job, nullptr, failure);
  }
  while (!deadlines_.empty() && deadlines_.front().at <= now) {
    const auto query = deadlines_.front().query.lock();
    deadlines_.pop_front();
    if (query && !query->completed) {
      cancel(query, error<TimeoutError>("it did not complete within " +
                                        std::to_string(options_.operation_timeout.count()) +
                                        " ms (AsyncPoolOptions::operation_timeout)"));
    }
  }
  arm_timer();
}

void AsyncPoolCore::cancel(const std::shared_ptr<AsyncQuery>& query, std::exception_ptr reason) {
  if (query->completed) return;
  const auto waiting = std::find_if(waiting_.begin(), waiting_.end(), [&](const Job& job) {
    return job.query == query || batched(job, query.get()) != nullptr;
  });
  if (waiting != waiting_.end() && waiting->query != query) {
    // One query of a batch that waits to run again: the others still go.
    finish(*query, nullptr, std::move(reason));
    if (!awaited(*waiting->batch)) waiting_.erase(waiting);
    return;
  }
  if (waiting != waiting_.end()) {
    Job job = std::move(*waiting);
    waiting_.erase(waiting);
    finish(job, nullptr, std::move(reason));
    return;
  }
  // Copies: abandon may close a connection, which changes the vector.
  for (const auto connections = connections_; const auto& connection : connections) {
    if (connection->abandon(query.get(), reason)) return;
  }
}

void AsyncPoolCore::finish(AsyncQuery& query, PgResult result, std::exception_ptr failure) {
  if (query.completed) return;
  query.completed = true;
  query.complete(std::move(result), std::move(failure));
}

void AsyncPoolCore::dispatch() {
  // Sending may close a connection, which dispatches again: loop instead.
  if (dispatching_) {
    dispatch_again_ = true;
    return;
  }
  dispatching_ = true;
  do {
    dispatch_again_ = false;
    while (!waiting_.empty() && !closed_) {
      AsyncConnection* first_idle = nullptr;
      std::size_t idle = 0;
      std::size_t connecting = 0;
      for (const auto& connection : connections_) {
        if (connection->state() == AsyncConnection::State::connecting) ++connecting;
        if (connection->accepts()) {
          if (first_idle == nullptr) first_idle = connection.get();
          ++idle;
        }
      }
      if (first_idle == nullptr) {
        // Open another connection while the connections being opened do not
        // have room for every waiting query.
        if (connections_.size() < options_.max_size &&
            connecting * options_.max_pipeline < waiting_.size()) {
          auto connection = std::make_shared<AsyncConnection>(shared_from_this());
          connections_.push_back(connection);
          asio::post(executor_, [connection] { connection->start(); });
          continue;
        }
        break;
      }
      // The waiting queries, spread evenly over the idle connections.
      const std::size_t share =
          std::min(options_.max_pipeline, (waiting_.size() + idle - 1) / idle);
      first_idle->send(waiting_, share);
    }
  } while (dispatch_again_);
  dispatching_ = false;
  if (!closed_) arm_timer();
}

void AsyncPoolCore::on_closed(const AsyncConnection* connection, bool while_connecting,
                              const std::string& message) {
  std::erase_if(connections_, [&](const auto& c) { return c.get() == connection; });
  if (closed_) return;
  if (while_connecting) {
    // With no connection open or opening, the waiting queries would wait for
    // nothing: they fail now, with the reason.
    const bool any = std::any_of(connections_.begin(), connections_.end(), [](const auto& c) {
      return c->state() != AsyncConnection::State::closed;
    });
    if (!any) {
      std::deque<Job> failed = std::move(waiting_);
      waiting_.clear();
      const auto failure = error<ConnectionError>("could not connect to the server: " + message);
      for (Job& job : failed) finish(job, nullptr, failure);
      return;
    }
  }
  dispatch();
}

std::size_t AsyncPoolCore::idle() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(connections_.begin(), connections_.end(), [](const auto& c) {
        return c->state() == AsyncConnection::State::ready && c->in_flight() == 0;
      }));
}

void AsyncPoolCore::close() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  std::deque<Job> failed = std::move(waiting_);
  waiting_.clear();
  const auto failure = error<ConnectionError>("the connection pool was closed");
  for (Job& job : failed) finish(job, nullptr, failure);
  for (const auto connections = connections_; const auto& connection : connections) {
    connection->close("the connection pool was closed", failure);
  }
}

}  // namespace detail

// --- the public face -----------------------------------------------------------

AsyncConnectionPool::AsyncConnectionPool(executor_type executor, std::string_view dsn,
                                         AsyncPoolOptions options) {
  if (options.max_size == 0) {
    throw InvalidArgument("invalid pool options: max_size must be at least 1");
  }
  if (options.max_pipeline == 0) {
    throw InvalidArgument("invalid pool options: max_pipeline must be at least 1");
  }
  core_ = std::make_shared<detail::AsyncPoolCore>(
      std::move(executor), detail::complete_conninfo(dsn, options.connect_timeout), options);
}

AsyncConnectionPool::~AsyncConnectionPool() {
  try {
    core_->close();
  } catch (...) {
    // Only an allocation can fail here; the connections close with the core anyway.
  }
}

AsyncConnectionPool::executor_type AsyncConnectionPool::get_executor() const noexcept {
  return core_->executor();
}

void AsyncConnectionPool::submit(std::shared_ptr<AsyncQuery> query) {
  core_->submit(std::move(query));
}

void AsyncConnectionPool::cancel(const std::shared_ptr<AsyncQuery>& query,
                                 std::exception_ptr reason) {
  core_->cancel(query, std::move(reason));
}

std::size_t AsyncConnectionPool::size() const { return core_->size(); }

std::size_t AsyncConnectionPool::idle() const { return core_->idle(); }

const AsyncPoolOptions& AsyncConnectionPool::options() const noexcept { return core_->options(); }

}  // namespace psycache
