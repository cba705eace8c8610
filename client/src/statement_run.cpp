#include "statement_run.hpp"

#include <libpq-fe.h>

#include <pqxx/except>

#include "operation_watchdog.hpp"
#include "pqxx_handle.hpp"

namespace psycache::detail {
namespace {

// libpq's last error on connection, thrown as libpqxx throws it: broken_connection once the
// connection is gone (the pool then discards it), failure while it is still usable.
[[noreturn]] void throw_connection_error(PGconn* connection) {
  if (PQstatus(connection) != CONNECTION_OK) {
    throw pqxx::broken_connection(PQerrorMessage(connection));
  }
  throw pqxx::failure(PQerrorMessage(connection));
}

PgResult run_on(pqxx::connection_base& connection, const Statement& statement,
                std::span<const char* const> params) {
  // libpqxx remembers which statements each connection has prepared, and forgets them when it
  // opens the connection again: prepare_now sends the PREPARE only when it is needed (and opens a
  // closed connection first).
  connection.prepare(statement.name, statement.sql);
  connection.prepare_now(statement.name);
  PGconn* const handle = libpq_handle(connection);
  if (handle == nullptr) throw pqxx::broken_connection("the connection is closed");
  // The statements run in autocommit mode, as in a pqxx::nontransaction, which libpqxx refuses to
  // start beside another transaction: so is a statement refused while the connection is inside a
  // transaction block (a pqxx::work of the application) or still busy with a query.
  if (PQtransactionStatus(handle) != PQTRANS_IDLE) {
    throw pqxx::usage_error(
        "the connection is inside a transaction or busy with another query; the cache runs its "
        "statements in autocommit mode on an idle connection");
  }
  if (PQsendQueryPrepared(handle, statement.name.c_str(), static_cast<int>(params.size()),
                          params.data(), nullptr, nullptr, 0) == 0) {
    throw_connection_error(handle);
  }
  PgResult result{PQgetResult(handle)};
  // The end of the answer has almost always arrived with the rows: no further system call.
  while (PgResult rest{PQgetResult(handle)}) {
  }
  if (!result || PQstatus(handle) != CONNECTION_OK) throw_connection_error(handle);
  return result;
}

}  // namespace

PgResult run_statement(PoolHandle& pool, const Statement& statement,
                       std::span<const char* const> params, OperationWatchdog* watchdog) {
  struct Call {
    const Statement& statement;
    std::span<const char* const> params;
    OperationWatchdog* watchdog;
    PgResult result;
  };
  Call call{statement, params, watchdog, {}};
  pool.with_connection(
      [](pqxx::connection_base& connection, void* context) {
        Call& pending = *static_cast<Call*>(context);
        // A connection libpqxx closed after a failure (sock() < 0) is reopened by prepare_now,
        // bounded by the DSN's connect_timeout, not by the watchdog.
        if (pending.watchdog == nullptr || connection.sock() < 0) {
          pending.result = run_on(connection, pending.statement, pending.params);
          return;
        }
        auto watch = pending.watchdog->watch(connection.sock());
        try {
          pending.result = run_on(connection, pending.statement, pending.params);
        } catch (...) {
          if (watch.disarm()) throw OperationTimedOut{pending.watchdog->timeout()};
          throw;
        }
      },
      &call);
  return std::move(call.result);
}

}  // namespace psycache::detail
