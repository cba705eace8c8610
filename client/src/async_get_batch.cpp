#include "async_get_batch.hpp"

#include <libpq-fe.h>
#include <optional>
#include <string>
#include <string_view>

#include <psycache/errors.hpp>

#include "cache_1_1.hpp"
#include "result_row.hpp"

namespace psycache::detail {
namespace {

class GetBatch final : public AsyncBatch {
 public:
  explicit GetBatch(const GetBatcher& owner) : owner_(owner) {}

  void complete(PgResult result, std::exception_ptr error) override {
    if (!error && PQresultStatus(result.get()) == PGRES_FATAL_ERROR) {
      // The pool runs each get again alone (see AsyncBatch).
      const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
      if (state != nullptr && std::string_view{state} == "42883") owner_.stop();
      return;
    }
    if (!error) {
      const ExecStatusType status = PQresultStatus(result.get());
      if (status != PGRES_TUPLES_OK) {
        error = std::make_exception_ptr(
            Error(std::string{"unexpected answer from the server: "} + PQresStatus(status)));
      } else if (static_cast<std::size_t>(PQntuples(result.get())) != queries.size()) {
        error = std::make_exception_ptr(ServerError(
            "get_many failed: the server returned " + std::to_string(PQntuples(result.get())) +
            " rows for " + std::to_string(queries.size()) + " keys"));
      }
    }
    for (std::size_t i = 0; i < queries.size(); ++i) {
      AsyncQuery& get = *queries[i];
      if (get.completed) continue;  // cancelled while the batch ran
      get.completed = true;
      PgResult row;
      std::exception_ptr failure = error;
      if (!failure) {
        try {
          row = answer(result.get(), static_cast<int>(i));
        } catch (...) {
          failure = std::current_exception();
        }
      }
      get.complete(std::move(row), std::move(failure));
    }
  }

 private:
  // Row i of psycache_get_many's answer (value, size) as the get's own statement answers it.
  static PgResult answer(const PGresult* rows, int i) {
    const auto field = [&](int column) -> std::optional<std::string_view> {
      if (PQgetisnull(rows, i, column) != 0) return std::nullopt;
      return std::string_view{PQgetvalue(rows, i, column),
                              static_cast<std::size_t>(PQgetlength(rows, i, column))};
    };
    return one_row_result({{.name = "value", .type = PQftype(rows, 0), .text = field(0)},
                           {.name = "size", .type = PQftype(rows, 1), .text = field(1)}});
  }

  const GetBatcher& owner_;
};

}  // namespace

std::shared_ptr<AsyncBatch> GetBatcher::combine(
    const std::vector<std::shared_ptr<AsyncQuery>>& queued) const {
  if (!available_.load(std::memory_order_relaxed)) return nullptr;
  std::vector<std::string> keys;
  keys.reserve(queued.size());
  for (const auto& get : queued) keys.push_back(get->params[0]);
  auto batch = std::make_shared<GetBatch>(*this);
  batch->queries = queued;
  batch->statement = &get_many_;
  batch->params[0] = array_literal(keys);
  batch->param_count = 1;
  batch->read_only = true;
  return batch;
}

}  // namespace psycache::detail
