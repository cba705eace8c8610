#include <algorithm>
#include <deque>
#include <libpq-fe.h>
#include <optional>
#include <string>
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

void PgResultDeleter::operator()(pg_result* result) const noexcept { PQclear(result); }

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

// A query and the pool's bookkeeping for it.
struct Job {
  std::shared_ptr<AsyncQuery> query;
  Clock::time_point start;
  // The acquire or operation deadline, when there is one.
  std::shared_ptr<asio::steady_timer> timer;
};

}  // namespace

class AsyncConnection;

// What an AsyncConnectionPool is; shared with its connections' pending
// handlers, which hold it weakly.
class AsyncPoolCore : public std::enable_shared_from_this<AsyncPoolCore> {
 public:
  AsyncPoolCore(asio::any_io_executor executor, std::string conninfo, AsyncPoolOptions options)
      : executor_(std::move(executor)), conninfo_(std::move(conninfo)), options_(options) {}

  AsyncPoolCore(const AsyncPoolCore&) = delete;
  AsyncPoolCore& operator=(const AsyncPoolCore&) = delete;
  AsyncPoolCore(AsyncPoolCore&&) = delete;
  AsyncPoolCore& operator=(AsyncPoolCore&&) = delete;
  ~AsyncPoolCore() { canceller_.join(); }

  void submit(std::shared_ptr<AsyncQuery> query);
  void cancel(const std::shared_ptr<AsyncQuery>& query, std::exception_ptr reason);
  void close();

  // Completes job's query unless it has been completed already.
  static void finish(Job& job, PgResult result, std::exception_ptr failure);
  // Hands waiting queries to connections and opens connections as needed.
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
  void arm(Job& job, Clock::time_point deadline);
  void on_deadline(const std::shared_ptr<AsyncQuery>& query);
  void place(Job job, AsyncConnection& connection);

  asio::any_io_executor executor_;
  std::string conninfo_;
  AsyncPoolOptions options_;
  std::vector<std::shared_ptr<AsyncConnection>> connections_;
  std::deque<Job> waiting_;
  bool closed_ = false;
  bool dispatching_ = false;
  bool dispatch_again_ = false;
  // Sends the server-side cancel requests, which block (PQcancel opens a new
  // connection); never the executor's threads.
  asio::thread_pool canceller_{1};
};

// One libpq connection in non-blocking pipeline mode.
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
  // Whether a new query may be sent on it now.
  [[nodiscard]] bool accepts(std::size_t max_pipeline) const noexcept {
    return state_ == State::ready && !draining_ && in_flight_.size() < max_pipeline;
  }

  void start();
  void send(Job job);
  // If query is in flight here: marks it abandoned, completes it with reason,
  // takes no new query until the server has answered, and asks the server to
  // cancel it. Returns whether it was here.
  bool abandon(const AsyncQuery* query, const std::exception_ptr& reason);
  // Closes the connection; every query in flight fails with failure.
  void close(const std::string& message, const std::exception_ptr& failure);

 private:
  // A query sent and not yet answered (up to its sync).
  struct Entry {
    Job job;
    PgResult result;
    bool prepare_pending = false;  // a PREPARE went out before it; its result comes first
    bool abandoned = false;        // its caller has had an answer already; drop the result
    bool cancel_sent = false;
  };

  void wait_connect(PostgresPollingStatusType status);
  void on_connect_ready(const asio::error_code& ec);
  void on_connected();
  void rewrap();
  void release() noexcept;
  void arm_read();
  void flush();
  void read_available();
  void handle(PgResult result);
  void finish_head();
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
  std::unordered_set<std::string> prepared_;
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

void AsyncConnection::send(Job job) {
  const AsyncQuery& query = *job.query;
  const AsyncStatement& statement = *query.statement;
  Entry& entry = in_flight_.emplace_back();
  entry.job = std::move(job);
  if (!prepared_.contains(statement.name)) {
    if (PQsendPrepare(pg_, statement.name.c_str(), statement.sql.c_str(), 0, nullptr) != 1) {
      fail(libpq_message(pg_));
      return;
    }
    prepared_.insert(statement.name);
    entry.prepare_pending = true;
  }
  std::array<const char*, AsyncQuery::kMaxParams> values{};
  std::array<int, AsyncQuery::kMaxParams> lengths{};
  std::array<int, AsyncQuery::kMaxParams> formats{};  // all text
  for (std::size_t i = 0; i < query.param_count; ++i) {
    values.at(i) = query.params.at(i).data();
    lengths.at(i) = static_cast<int>(query.params.at(i).size());
  }
  // One sync per query: an error aborts only the commands up to the next
  // sync, so it fails this query alone.
  if (PQsendQueryPrepared(pg_, statement.name.c_str(), static_cast<int>(query.param_count),
                          values.data(), lengths.data(), formats.data(), 0) != 1 ||
      PQpipelineSync(pg_) != 1) {
    fail(libpq_message(pg_));
    return;
  }
  flush();
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
                       if (PQconsumeInput(self->pg_) != 1) {
                         self->fail(libpq_message(self->pg_));
                         return;
                       }
                       self->read_available();
                       // Reading may have let libpq send what was left.
                       self->flush();
                       self->arm_read();
                     });
}

void AsyncConnection::read_available() {
  in_read_ = true;
  bool freed = false;
  bool after_end = false;
  while (state_ == State::ready && !in_flight_.empty() && PQisBusy(pg_) == 0) {
    PGresult* result = PQgetResult(pg_);
    // nullptr ends one command's results; the sync's result ends the query.
    // Two in a row mean libpq has nothing queued that the pool awaits.
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
  if (freed && state_ == State::ready) {
    if (auto core = core_.lock()) core->dispatch();
  }
}

void AsyncConnection::handle(PgResult result) {
  Entry& head = in_flight_.front();
  const ExecStatusType status = PQresultStatus(result.get());
  if (status == PGRES_PIPELINE_SYNC) {
    finish_head();
    return;
  }
  if (head.prepare_pending) {
    // The PREPARE's result; if it failed, the query after it is aborted and
    // the PREPARE's error is the one to report.
    head.prepare_pending = false;
    if (status == PGRES_COMMAND_OK) return;
    prepared_.erase(head.job.query->statement->name);
  }
  if (!head.result) head.result = std::move(result);
}

void AsyncConnection::finish_head() {
  Entry head = std::move(in_flight_.front());
  in_flight_.pop_front();
  auto core = core_.lock();
  if (!core) return;
  if (!head.abandoned) {
    if (head.result) {
      core->finish(head.job, std::move(head.result), nullptr);
    } else {
      core->finish(head.job, nullptr,
                   error<Error>("the server sent no result for the query (protocol error)"));
    }
  }
  if (!draining_) return;
  if (!in_flight_.empty()) {
    cancel_on_server_if_running();
    return;
  }
  // Every answer is in: the connection is clean if it is idle, outside a
  // transaction, still in pipeline mode.
  if (PQtransactionStatus(pg_) == PQTRANS_IDLE && PQpipelineStatus(pg_) == PQ_PIPELINE_ON) {
    draining_ = false;
    timer_.cancel();
  } else {
    fail("the connection was not idle after a cancelled query");
  }
}

bool AsyncConnection::abandon(const AsyncQuery* query, const std::exception_ptr& reason) {
  const auto entry = std::find_if(in_flight_.begin(), in_flight_.end(),
                                  [&](const Entry& e) { return e.job.query.get() == query; });
  if (entry == in_flight_.end()) return false;
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

// The server runs a connection's queries in order, so the first unanswered
// one is the one running: a cancel request is sent only for that one, when it
// is abandoned.
void AsyncConnection::cancel_on_server_if_running() {
  Entry& head = in_flight_.front();
  if (!head.abandoned || head.cancel_sent) return;
  head.cancel_sent = true;
  auto core = core_.lock();
  PGcancel* cancel = PQgetCancel(pg_);
  if (!core || cancel == nullptr) {
    fail("cannot cancel the query on the server");
    return;
  }
  asio::post(core->canceller(), [cancel, weak = weak_from_this(), executor = core->executor()] {
    std::array<char, 256> reason{};
    const bool sent = PQcancel(cancel, reason.data(), static_cast<int>(reason.size())) == 1;
    PQfreeCancel(cancel);
    if (sent) return;
    asio::post(executor, [weak, message = std::string{reason.data()}] {
      if (auto self = weak.lock()) self->fail("the cancel request failed: " + message);
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
  Job& job = waiting_.emplace_back();
  job.query = std::move(query);
  job.start = Clock::now();
  if (options_.operation_timeout.count() > 0) arm(job, job.start + options_.operation_timeout);
  const AsyncQuery* submitted = job.query.get();
  dispatch();
  // Still waiting: bound the wait by the acquire timeout.
  if (options_.acquire_timeout.count() > 0 && !waiting_.empty() &&
      waiting_.back().query.get() == submitted) {
    Job& waiting = waiting_.back();
    const auto deadline = waiting.start + options_.acquire_timeout;
    if (!waiting.timer || waiting.timer->expiry() > deadline) arm(waiting, deadline);
  }
}

void AsyncPoolCore::arm(Job& job, Clock::time_point deadline) {
  if (!job.timer) job.timer = std::make_shared<asio::steady_timer>(executor_);
  job.timer->expires_at(deadline);
  job.timer->async_wait([query = std::weak_ptr<AsyncQuery>{job.query},
                         core = weak_from_this()](const asio::error_code& ec) {
    if (ec) return;
    auto self = core.lock();
    auto pending = query.lock();
    if (self && pending) self->on_deadline(pending);
  });
}

void AsyncPoolCore::on_deadline(const std::shared_ptr<AsyncQuery>& query) {
  if (query->completed) return;
  const auto now = Clock::now();
  const auto waiting = std::find_if(waiting_.begin(), waiting_.end(),
                                    [&](const Job& job) { return job.query == query; });
  if (waiting != waiting_.end() && options_.acquire_timeout.count() > 0 &&
      now >= waiting->start + options_.acquire_timeout) {
    cancel(query, error<TimeoutError>("no connection became free within " +
                                      std::to_string(options_.acquire_timeout.count()) +
                                      " ms (AsyncPoolOptions::acquire_timeout)"));
    return;
  }
  cancel(query, error<TimeoutError>("it did not complete within " +
                                    std::to_string(options_.operation_timeout.count()) +
                                    " ms (AsyncPoolOptions::operation_timeout)"));
}

void AsyncPoolCore::cancel(const std::shared_ptr<AsyncQuery>& query, std::exception_ptr reason) {
  if (query->completed) return;
  const auto waiting = std::find_if(waiting_.begin(), waiting_.end(),
                                    [&](const Job& job) { return job.query == query; });
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

void AsyncPoolCore::finish(Job& job, PgResult result, std::exception_ptr failure) {
  if (job.query->completed) return;
  job.query->completed = true;
  if (job.timer) job.timer->cancel();
  job.query->complete(std::move(result), std::move(failure));
}

void AsyncPoolCore::place(Job job, AsyncConnection& connection) {
  if (options_.operation_timeout.count() > 0) {
    const auto deadline = job.start + options_.operation_timeout;
    if (!job.timer || job.timer->expiry() != deadline) arm(job, deadline);
  } else if (job.timer) {
    job.timer->cancel();
    job.timer.reset();
  }
  connection.send(std::move(job));
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
      std::shared_ptr<AsyncConnection> best;
      std::size_t connecting = 0;
      for (const auto& connection : connections_) {
        if (connection->state() == AsyncConnection::State::connecting) ++connecting;
        if (connection->accepts(options_.max_pipeline) &&
            (!best || connection->in_flight() < best->in_flight())) {
          best = connection;
        }
      }
      // Open another connection while every open one is busy.
      if (connections_.size() < options_.max_size && (!best || best->in_flight() > 0) &&
          connecting < waiting_.size()) {
        auto connection = std::make_shared<AsyncConnection>(shared_from_this());
        connections_.push_back(connection);
        asio::post(executor_, [connection] { connection->start(); });
      }
      if (!best) break;
      Job job = std::move(waiting_.front());
      waiting_.pop_front();
      place(std::move(job), *best);
    }
  } while (dispatch_again_);
  dispatching_ = false;
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
