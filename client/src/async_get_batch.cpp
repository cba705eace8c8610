#include "async_get_batch.hpp"

#include <libpq-fe.h>
#include <optional>
#include <string>
#include <string_view>

#include <psycache/errors.hpp>

#include "cache_1_1.hpp"
#include "result_fields.hpp"
#include "result_row.hpp"

namespace psycache::detail {
namespace {

class GetBatch final : public SplitBatch {
 public:
  using SplitBatch::SplitBatch;

 private:
  // psycache_get_many's answer: a row (value, size) per key, in their order.
  void read(const PGresult* result) override {
    checked_rows(result, true);
    if (static_cast<std::size_t>(PQntuples(result)) != queries.size()) {
      throw ServerError("get_many failed: the server returned " +
                        std::to_string(PQntuples(result)) + " rows for " +
                        std::to_string(queries.size()) + " keys");
    }
  }

  // What the get's own statement answers: its row, value and size, or NULLs for a miss.
  PgResult answer(const PGresult* rows, std::size_t i) const override {
    const int row = static_cast<int>(i);
    const auto field = [&](int column) -> std::optional<std::string_view> {
      if (is_null_field(rows, column, row)) return std::nullopt;
      return text_field(rows, column, row);
    };
    return one_row_result({{.name = "value", .type = PQftype(rows, 0), .text = field(0)},
                           {.name = "size", .type = PQftype(rows, 1), .text = field(1)}});
  }
};

}  // namespace

std::shared_ptr<AsyncBatch> GetBatcher::combine(
    const std::vector<std::shared_ptr<AsyncQuery>>& queued) const {
  if (!available()) return nullptr;
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
