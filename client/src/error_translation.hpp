// Turning libpqxx and nlohmann_json exceptions into psycache errors.
#pragma once

#include <string>
#include <string_view>

namespace psycache::detail {

// What was being done when an error happened, for the message.
struct Operation {
  std::string_view name{};  // "get", "put", "init_db"...
  // The key the operation was about, if it had one.
  const std::string_view* key = nullptr;
  // The schema the cache uses, for the hint when the extension is not found.
  std::string_view schema{};
  // Whether the operation is opening a connection (else it uses one).
  bool connecting = false;
};

// Rethrows the exception being handled as a psycache error: psycache errors
// and exceptions unknown to psycache unchanged, libpqxx's by kind and SQLSTATE.
// Must be called inside a catch block.
[[noreturn]] void rethrow_translated(const Operation& operation);

// "get of key \"k\"": the operation as the start of a message.
std::string describe(const Operation& operation);

// A server error message made fit for one line: no "ERROR:" prefix, no
// echo of the statement, DETAIL and HINT kept.
std::string tidy_server_message(std::string_view message);

}  // namespace psycache::detail
