#include "async_put_batch.hpp"

#include <cstdint>
#include <iterator>
#include <libpq-fe.h>
#include <string>
#include <string_view>
#include <unordered_set>

#include <psycache/errors.hpp>

#include "cache_1_1.hpp"
#include "result_fields.hpp"
#include "result_row.hpp"

namespace psycache::detail {
namespace {

class PutBatch final : public SplitBatch {
 public:
  using SplitBatch::SplitBatch;

 private:
  // psycache_put_many's answer: a size per key, in their order.
  void read(const PGresult* result) override {
    sizes_ = parse_integer_array(text_field(checked_rows(result), 0), "put_many");
    if (sizes_.size() != queries.size()) {
      throw ServerError("put_many failed: the server returned " + std::to_string(sizes_.size()) +
                        " sizes for " + std::to_string(queries.size()) + " keys");
    }
  }

  // What the put's own statement answers: its value's stored size.
  PgResult answer(const PGresult* /*result*/, std::size_t i) const override {
    const std::string size = std::to_string(sizes_[i]);
    return one_row_result({{.name = "psycache_put", .type = 23 /* int4 */, .text = size}});
  }

  std::vector<std::int64_t> sizes_;
};

}  // namespace

std::shared_ptr<AsyncBatch> PutBatcher::combine(
    const std::vector<std::shared_ptr<AsyncQuery>>& queued) const {
  if (!available()) return nullptr;
  const std::string& ttl = queued.front()->params[2];
  std::unordered_set<std::string_view> keys;
  std::vector<std::string> key_texts;
  std::vector<std::string> value_texts;
  std::size_t bytes = 0;
  for (const auto& put : queued) {
    bytes += put->params[1].size();
    if (put->params[2] != ttl || !keys.insert(put->params[0]).second ||
        (key_texts.size() >= 2 && bytes > kMaxBatchBytes)) {
      break;
    }
    key_texts.push_back(put->params[0]);
    value_texts.push_back(put->params[1]);
  }
  if (key_texts.size() < 2) return nullptr;
  auto batch = std::make_shared<PutBatch>(*this);
  batch->queries.assign(queued.begin(),
                        queued.begin() + static_cast<std::ptrdiff_t>(key_texts.size()));
  batch->statement = &put_many_;
  batch->params[0] = array_literal(key_texts);
  batch->params[1] = array_literal(value_texts);
  batch->params[2] = ttl;
  batch->param_count = 3;
  return batch;
}

}  // namespace psycache::detail
