// The two kinds of error that travel through the extension's C++ code as exceptions. The guard in
// boundary.hpp turns either one back into a PostgreSQL error.
#pragma once

#include "pg.hpp"
// The standard headers come after PostgreSQL's, which must be first.
#include <exception>
#include <string>
#include <utility>

namespace psycache {

// An error raised by psycache itself, with the parts of a PostgreSQL error report: errmsg in lower
// case without a final period; detail and hint, when not empty, full sentences.
class Error : public std::exception {
 public:
  Error(int sqlstate, std::string message, std::string detail = {}, std::string hint = {})
      : sqlstate_(sqlstate),
        message_(std::move(message)),
        detail_(std::move(detail)),
        hint_(std::move(hint)) {}

  const char* what() const noexcept override { return message_.c_str(); }
  int sqlstate() const noexcept { return sqlstate_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  int sqlstate_;
  std::string message_;
  std::string detail_;
  std::string hint_;
};

// A PostgreSQL error caught by PgCall. It holds the whole report (sqlstate, message, detail, hint,
// context...) as copied by CopyErrorData, so the guard can raise it again unchanged.
class PgError : public std::exception {
 public:
  explicit PgError(ErrorData* data) noexcept : data_(data) {}

  const char* what() const noexcept override {
    return data_->message != nullptr ? data_->message : "unknown PostgreSQL error";
  }
  int sqlstate() const noexcept { return data_->sqlerrcode; }
  ErrorData* data() const noexcept { return data_; }

 private:
  ErrorData* data_;  // palloc'd in the memory context that was current when PgCall began
};

}  // namespace psycache
