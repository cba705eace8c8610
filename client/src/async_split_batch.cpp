#include "async_split_batch.hpp"

#include <string_view>

namespace psycache::detail {

void SplitBatch::complete(PgResult result, std::exception_ptr error) {
  if (!error && PQresultStatus(result.get()) == PGRES_FATAL_ERROR) {
    // 42883: undefined_function.
    const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
    if (state != nullptr && std::string_view{state} == "42883") owner_.stop();
    return;
  }
  if (!error) {
    try {
      read(result.get());
    } catch (...) {
      error = std::current_exception();
    }
  }
  for (std::size_t i = 0; i < queries.size(); ++i) {
    AsyncQuery& query = *queries[i];
    if (query.completed) continue;  // cancelled while the batch ran
    query.completed = true;
    PgResult own;
    std::exception_ptr failure = error;
    if (!failure) {
      try {
        own = answer(result.get(), i);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    query.complete(std::move(own), std::move(failure));
  }
}

}  // namespace psycache::detail
