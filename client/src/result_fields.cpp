#include "result_fields.hpp"

#include <charconv>
#include <string>

#include <pqxx/except>

#include <psycache/errors.hpp>
#include <psycache/pg_result.hpp>

#include "cache_common.hpp"

namespace psycache::detail {
namespace {

[[noreturn]] void throw_unexpected(std::string_view text, const char* what) {
  throw Error("unexpected answer from the server: \"" + shorten(text) + "\" is not " + what);
}

}  // namespace

void PgResultDeleter::operator()(pg_result* result) const noexcept { PQclear(result); }

const PGresult* checked_rows(const PGresult* result, bool many_rows) {
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_TUPLES_OK && (many_rows || PQntuples(result) == 1)) return result;
  if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    throw pqxx::sql_error(PQresultErrorMessage(result), "", state != nullptr ? state : "");
  }
  if (status == PGRES_PIPELINE_ABORTED) {
    throw pqxx::broken_connection("the query was aborted by an earlier error in its pipeline");
  }
  if (status == PGRES_TUPLES_OK) {
    throw Error("unexpected answer from the server: " + std::to_string(PQntuples(result)) +
                " rows instead of one");
  }
  throw Error(std::string{"unexpected answer from the server: "} + PQresStatus(status));
}

std::int64_t int_field(const PGresult* result, int column, int row) {
  const std::string_view text = text_field(result, column, row);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) throw_unexpected(text, "an integer");
  return value;
}

bool bool_field(const PGresult* result, int column, int row) {
  const std::string_view text = text_field(result, column, row);
  if (text == "t") return true;
  if (text == "f") return false;
  throw_unexpected(text, "a boolean");
}

}  // namespace psycache::detail
