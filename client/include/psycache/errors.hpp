// The exceptions psycache throws: one hierarchy under psycache::Error.
//
// Every function of the library reports failure with one of these; no libpqxx
// or nlohmann_json exception escapes unwrapped. Catch the subclass you can act
// on and psycache::Error for the rest:
//
//   Error                 every failure; what() says what failed and why
//   ├─ InvalidArgument    a bad key, TTL, value, schema name or DSN (refused by
//   │                     the client before anything is sent, or by the server
//   │                     with an SQLSTATE of class 22 "data exception" or 54
//   │                     "program limit exceeded"); nothing was changed
//   ├─ ConnectionError    the server could not be reached, or the connection was
//   │  │                  lost during the operation (SQLSTATE class 08, or an
//   │  │                  administrator shutdown); retrying later may succeed
//   │  └─ TimeoutError    no pooled connection became free in time, the server
//   │                     canceled the statement (statement_timeout: SQLSTATE
//   │                     57014; lock_timeout: 55P03; the connection stays
//   │                     usable), or no answer came within
//   │                     CacheOptions::operation_timeout (the connection is
//   │                     closed), or an asynchronous operation ran past its
//   │                     timeout
//   ├─ ServerError        the server refused the operation for another reason
//   │                     (missing extension or schema, insufficient privilege…)
//   ├─ ConversionError    a stored value does not convert to the requested C++
//   │                     type, or a C++ value does not convert to JSON
//   └─ OperationCancelled an asynchronous operation was cancelled through its
//                         Asio cancellation slot
//
// Errors that come from the server carry its SQLSTATE in sqlstate().
//
// Thread-safety: exception objects are immutable after construction.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace psycache {

// The base of every exception psycache throws.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string sqlstate = {})
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}

  // The five-character SQLSTATE the server reported, or "" when the error was
  // detected by the client.
  [[nodiscard]] const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// A key, TTL, value, schema name, DSN or option was refused. Nothing was
// stored or changed; the cache and its connections remain usable.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// The server could not be reached or the connection broke. A pooled
// connection that broke is discarded, so a retry gets a fresh one.
class ConnectionError : public Error {
 public:
  using Error::Error;
};

// A wait ran out: for a pooled connection (PoolOptions::acquire_timeout), for
// a statement or a lock on the server (PoolOptions::statement_timeout and
// lock_timeout; sqlstate() is 57014 or 55P03), for the server's answer
// (CacheOptions::operation_timeout), or for an asynchronous operation
// (AsyncPoolOptions::operation_timeout).
class TimeoutError : public ConnectionError {
 public:
  using ConnectionError::ConnectionError;
};

// The server refused the operation for a reason other than bad input or a lost
// connection, e.g. the extension is not installed in the configured schema
// (SQLSTATE 3F000 or 42883) or the role lacks a privilege (42501).
class ServerError : public Error {
 public:
  using Error::Error;
};

// The typed layer could not convert: a stored JSON document does not convert
// to the requested type (the message names the key, the type and the reason),
// or a C++ value could not be converted to JSON.
class ConversionError : public Error {
 public:
  using Error::Error;
};

// An asynchronous operation was cancelled (its cancellation slot was emitted)
// before it completed. A put or remove that was already sent may have taken
// effect; the server was asked to cancel it.
class OperationCancelled : public Error {
 public:
  using Error::Error;
};

}  // namespace psycache
