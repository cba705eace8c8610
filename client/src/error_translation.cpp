#include "error_translation.hpp"

#include <string>

#include <nlohmann/json.hpp>
#include <pqxx/except>

#include <psycache/errors.hpp>

#include "operation_watchdog.hpp"
#include "validation.hpp"

namespace psycache::detail {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// SQLSTATEs that mean the connection is gone or cannot be had.
bool is_connection_state(std::string_view state) {
  return starts_with(state, "08") || state == "57P01" || state == "57P02" || state == "57P03" ||
         state == "53300";
}

// SQLSTATEs of a statement the server gave up on: statement_timeout (or a
// cancel request) and lock_timeout. The connection stays usable.
bool is_timeout_state(std::string_view state) { return state == "57014" || state == "55P03"; }

// SQLSTATEs that mean an argument was refused: data exceptions (22: a TTL
// past the last timestamp, a string jsonb cannot hold...) and program limits
// (54: a key too long for the server).
bool is_invalid_argument_state(std::string_view state) {
  return starts_with(state, "22") || starts_with(state, "54");
}

// SQLSTATEs that mean the extension's functions were not found.
bool is_missing_extension_state(std::string_view state) {
  return state == "3F000" || state == "42883" || state == "42P01";
}

// Whether operation calls a function that extension version 1.1 added, so that a
// missing function may mean an extension still at 1.0.
bool is_operation_of_1_1(std::string_view operation) {
  for (const std::string_view name :
       {"get_many", "put_many", "remove_many", "add", "touch", "ttl", "incr"}) {
    if (operation == name) return true;
  }
  return false;
}

// The SQLSTATE of error. libpqxx 6.4 throws some of its sql_error subclasses
// without the SQLSTATE the server sent (insufficient_privilege among them), so
// for those it is recovered from the class.
std::string sqlstate_of(const pqxx::sql_error& error) {
  if (!error.sqlstate().empty()) return error.sqlstate();
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&error) != nullptr) return "42501";
  if (dynamic_cast<const pqxx::undefined_function*>(&error) != nullptr) return "42883";
  if (dynamic_cast<const pqxx::undefined_table*>(&error) != nullptr) return "42P01";
  if (dynamic_cast<const pqxx::undefined_column*>(&error) != nullptr) return "42703";
  if (dynamic_cast<const pqxx::feature_not_supported*>(&error) != nullptr) return "0A000";
  return {};
}

[[noreturn]] void throw_sql_error(const pqxx::sql_error& error, const Operation& operation) {
  const std::string state = sqlstate_of(error);
  std::string message = describe(operation) + " failed: " + tidy_server_message(error.what());
  if (!state.empty()) message += " (SQLSTATE " + state + ")";
  if (is_connection_state(state)) throw ConnectionError(message, state);
  if (is_timeout_state(state)) throw TimeoutError(message, state);
  if (is_invalid_argument_state(state)) throw InvalidArgument(message, state);
  if (is_missing_extension_state(state) && !operation.schema.empty()) {
    message += "; is the psycache extension installed in schema " +
               quote_for_message(operation.schema) +
               "? Set CacheOptions::schema to the schema it was created in, or create it there "
               "with psycache::init_db or CREATE EXTENSION psycache SCHEMA " +
               quote_identifier(operation.schema);
    if (state == "42883" && is_operation_of_1_1(operation.name)) {
      message +=
          "; if it is installed at version 1.0, which lacks this function, update it with "
          "ALTER EXTENSION psycache UPDATE";
    }
  }
  if (state == "42501") {
    message +=
        "; the role needs EXECUTE on the psycache functions (granted to the extension's owner; "
        "see README, \"Privileges\")";
  }
  throw ServerError(message, state);
}

}  // namespace

std::string describe(const Operation& operation) {
  std::string description{operation.name};
  if (operation.key != nullptr) description += " of key " + quote_for_message(*operation.key);
  return description;
}

std::string tidy_server_message(std::string_view message) {
  std::string tidy;
  bool echo = false;  // inside a block that echoes SQL (LINE with its caret, CONTEXT)
  while (!message.empty()) {
    const std::size_t end = message.find('\n');
    std::string_view line = message.substr(0, end);
    message = end == std::string_view::npos ? std::string_view{} : message.substr(end + 1);
    for (const std::string_view severity : {"ERROR:  ", "FATAL:  ", "PANIC:  "}) {
      if (starts_with(line, severity)) line.remove_prefix(severity.size());
    }
    if (starts_with(line, "DETAIL:  ") || starts_with(line, "HINT:  ")) {
      line.remove_prefix(line.find(':') + 3);
      echo = false;
    } else if (starts_with(line, "LINE ") || starts_with(line, "CONTEXT:  ") ||
               starts_with(line, "QUERY:  ")) {
      echo = true;
    }
    if (echo) continue;
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;
    line.remove_prefix(first);
    while (line.back() == ' ' || line.back() == '\r') line.remove_suffix(1);
    if (!tidy.empty()) {
      const char last = tidy.back();
      tidy += (last == '.' || last == '?' || last == '!') ? " " : ". ";
    }
    tidy.append(line);
  }
  return tidy;
}

void rethrow_translated(const Operation& operation) {
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const OperationTimedOut& e) {
    throw TimeoutError(describe(operation) + " failed: no answer from the server within " +
                       std::to_string(e.timeout.count()) +
                       " ms (CacheOptions::operation_timeout); the connection was closed");
  } catch (const pqxx::broken_connection& e) {
    throw ConnectionError(describe(operation) + " failed: " +
                          (operation.connecting ? "" : "the connection to the server broke: ") +
                          tidy_server_message(e.what()));
  } catch (const pqxx::sql_error& e) {
    throw_sql_error(e, operation);
  } catch (const pqxx::in_doubt_error& e) {
    throw ConnectionError(describe(operation) +
                          " failed: the connection broke; the outcome is unknown: " + e.what());
  } catch (const pqxx::usage_error& e) {
    throw Error(describe(operation) + " failed: the connection cannot be used now: " + e.what());
  } catch (const pqxx::pqxx_exception& e) {
    throw Error(describe(operation) + " failed: " + e.base().what());
  } catch (const nlohmann::json::exception& e) {
    throw Error(describe(operation) + " failed: unexpected JSON from the server: " + e.what());
  }
}

}  // namespace psycache::detail
