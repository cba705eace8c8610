#include "conninfo.hpp"

#include <cstdlib>
#include <libpq-fe.h>
#include <memory>
#include <string_view>

#include <psycache/errors.hpp>

namespace psycache::detail {
namespace {

std::string quote_value(std::string_view value) {
  std::string quoted = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '\'';
  return quoted;
}

}  // namespace

std::string complete_conninfo(std::string_view dsn, std::chrono::seconds connect_timeout) {
  return complete_conninfo(dsn, connect_timeout, SessionTimeouts{});
}

std::string complete_conninfo(std::string_view dsn, std::chrono::seconds connect_timeout,
                              const SessionTimeouts& timeouts) {
  char* error = nullptr;
  const std::string text{dsn};
  const std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options{
      PQconninfoParse(text.c_str(), &error), &PQconninfoFree};
  if (!options) {
    std::string reason = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    throw InvalidArgument("invalid DSN: " + reason);
  }

  std::string conninfo;
  // libpq reads the environment too; nothing in psycache writes it.
  bool has_timeout =
      std::getenv("PGCONNECT_TIMEOUT") != nullptr ||  // NOLINT(concurrency-mt-unsafe)
      connect_timeout.count() <= 0;
  bool has_encoding = false;
  bool has_application = false;
  // libpq reads PGOPTIONS only when the DSN has no options: keep them when adding ours.
  const char* environment_options = std::getenv("PGOPTIONS");  // NOLINT(concurrency-mt-unsafe)
  std::string server_options = environment_options != nullptr ? environment_options : "";
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    const std::string_view keyword{option->keyword};
    has_timeout = has_timeout || keyword == "connect_timeout";
    has_encoding = has_encoding || keyword == "client_encoding";
    has_application = has_application || keyword == "fallback_application_name";
    if (keyword == "options") {
      server_options = option->val;
      continue;
    }
    if (!conninfo.empty()) conninfo += ' ';
    conninfo.append(keyword).append("=").append(quote_value(option->val));
  }
  const auto add = [&](std::string_view keyword, const std::string& value) {
    if (!conninfo.empty()) conninfo += ' ';
    conninfo.append(keyword).append("=").append(quote_value(value));
  };
  if (!has_timeout) add("connect_timeout", std::to_string(connect_timeout.count()));
  // Keys and values are UTF-8 whatever the database's encoding.
  if (!has_encoding) add("client_encoding", "UTF8");
  if (!has_application) add("fallback_application_name", "psycache");
  const auto set = [&](std::string_view name, std::chrono::milliseconds value) {
    if (value.count() <= 0) return;
    if (!server_options.empty()) server_options += ' ';
    server_options.append("-c ").append(name).append("=").append(std::to_string(value.count()));
  };
  set("statement_timeout", timeouts.statement_timeout);
  set("lock_timeout", timeouts.lock_timeout);
  if (!server_options.empty()) add("options", server_options);
  return conninfo;
}

}  // namespace psycache::detail
