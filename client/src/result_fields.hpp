// Reading the PGresult of one cache statement, for the sync and the async cache alike: its rows,
// or the error it stands for as the exception error_translation.hpp turns into a psycache error.
#pragma once

#include <cstdint>
#include <libpq-fe.h>
#include <string_view>

namespace psycache::detail {

// result, when it holds rows: exactly one, or any number when many_rows. Otherwise throws
// pqxx::sql_error with the server's SQLSTATE for an error, pqxx::broken_connection for a query
// that its pipeline aborted, and Error for anything else (no row where one was due, among them).
const PGresult* checked_rows(const PGresult* result, bool many_rows = false);

// The text of a column (empty for NULL).
inline std::string_view text_field(const PGresult* result, int column, int row = 0) {
  return {PQgetvalue(result, row, column),
          static_cast<std::size_t>(PQgetlength(result, row, column))};
}

inline bool is_null_field(const PGresult* result, int column, int row = 0) {
  return PQgetisnull(result, row, column) != 0;
}

// An integer or boolean column in text form; throws Error when it is something else.
std::int64_t int_field(const PGresult* result, int column, int row = 0);
bool bool_field(const PGresult* result, int column, int row = 0);

}  // namespace psycache::detail
