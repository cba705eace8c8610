// PostgresCache's batches: get_many_raw, put_many_raw, remove_many, each one call of the
// extension's psycache_get_many, psycache_put_many or psycache_remove_many.
#include <psycache/cache.hpp>

#include "cache_1_1.hpp"
#include "json_reader.hpp"
#include "result_fields.hpp"
#include "spans.hpp"
#include "validation.hpp"

namespace psycache {

using detail::span_key;

std::vector<std::optional<nlohmann::json>> PostgresCache::get_many_raw(
    const std::vector<std::string>& keys, std::string_view span_name) {
  const detail::CacheCore& core = *core_;
  if (keys.empty()) return {};
  detail::Spans spans{options().instrumentations, [&](CacheInstrumentation& i) {
                        return i.start_cache_get_span(span_key(keys), span_name);
                      }};
  try {
    const detail::PgResult result = detail::run(core, detail::statements_1_1_of(core).get_many,
                                                {detail::keys_parameter(keys)}, true);
    const PGresult* rows = result.get();
    const auto row_count = static_cast<std::size_t>(PQntuples(rows));
    if (row_count != keys.size()) {
      throw ServerError("get_many failed: the server returned " + std::to_string(row_count) +
                        " rows for " + std::to_string(keys.size()) + " keys");
    }
    std::vector<std::optional<nlohmann::json>> values(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const int row = static_cast<int>(i);
      if (detail::is_null_field(rows, 0, row)) {
        spans.record([](CacheSpan& span) { span.record_cache_miss(); });
        continue;
      }
      try {
        values[i].emplace(detail::read_json(detail::text_field(rows, 0, row)));
      } catch (const nlohmann::json::exception& e) {
        throw ConversionError("the value stored under key " + detail::quote_for_message(keys[i]) +
                              " cannot be read into nlohmann::json: " + e.what());
      }
      const auto size = static_cast<std::size_t>(detail::int_field(rows, 1, row));
      spans.record([&](CacheSpan& span) { span.record_cache_hit(size); });
    }
    return values;
  } catch (...) {
    detail::fail_of(core, &spans, "get_many");
  }
}

void PostgresCache::put_many_raw(const std::vector<std::pair<std::string, nlohmann::json>>& entries,
                                 Ttl ttl, std::string_view span_name) {
  const detail::CacheCore& core = *core_;
  if (entries.empty()) return;
  const std::string_view first_key = entries.front().first;
  detail::Spans spans{options().instrumentations, [&](CacheInstrumentation& i) {
                        return i.start_cache_put_span(first_key, span_name);
                      }};
  try {
    const detail::PgResult sizes_row =
        detail::run(core, detail::statements_1_1_of(core).put_many,
                    detail::put_many_parameters(entries, ttl, options().max_value_bytes));
    const std::vector<std::int64_t> sizes =
        detail::parse_integer_array(detail::text_field(sizes_row.get(), 0), "put_many");
    for (const std::int64_t size : sizes) {
      spans.record([&](CacheSpan& span) { span.record_put(static_cast<std::size_t>(size)); });
    }
  } catch (...) {
    detail::fail_of(core, &spans, "put_many");
  }
}

std::int64_t PostgresCache::remove_many(const std::vector<std::string>& keys) {
  const detail::CacheCore& core = *core_;
  if (keys.empty()) return 0;
  detail::Spans spans{options().instrumentations, [&](CacheInstrumentation& i) {
                        return i.start_cache_remove_span(span_key(keys));
                      }};
  try {
    const std::int64_t removed =
        detail::int_field(detail::run(core, detail::statements_1_1_of(core).remove_many,
                                      {detail::keys_parameter(keys)})
                              .get(),
                          0);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      spans.record([](CacheSpan& span) { span.record_removed(); });
    }
    return removed;
  } catch (...) {
    detail::fail_of(core, &spans, "remove_many");
  }
}

}  // namespace psycache
