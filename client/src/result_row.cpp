#include "result_row.hpp"

#include <new>
#include <vector>

namespace psycache::detail {

PgResult one_row_result(std::initializer_list<ResultColumn> columns) {
  PgResult row{PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK)};
  if (!row) throw std::bad_alloc();
  std::vector<PGresAttDesc> descriptions;
  descriptions.reserve(columns.size());
  for (const ResultColumn& column : columns) {
    // libpq's C interface takes char* for what it only copies.
    descriptions.push_back({.name = const_cast<char*>(column.name),  // NOLINT(*-const-cast)
                            .tableid = 0,
                            .columnid = 0,
                            .format = 0,
                            .typid = column.type,
                            .typlen = -1,
                            .atttypmod = -1});
  }
  if (PQsetResultAttrs(row.get(), static_cast<int>(descriptions.size()), descriptions.data()) ==
      0) {
    throw std::bad_alloc();
  }
  int field = 0;
  for (const ResultColumn& column : columns) {
    // libpq stores NULL for a null pointer, so an empty text needs one that is not.
    char empty[] = "";
    char* text = nullptr;
    if (column.text) {
      // NOLINTNEXTLINE(*-const-cast): libpq copies the text
      text = column.text->empty() ? empty : const_cast<char*>(column.text->data());
    }
    const int length = column.text ? static_cast<int>(column.text->size()) : -1;
    if (PQsetvalue(row.get(), 0, field, text, length) == 0) throw std::bad_alloc();
    ++field;
  }
  return row;
}

}  // namespace psycache::detail
