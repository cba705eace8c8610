// PostgresCache's single-key operations of extension 1.1: add_raw, touch, ttl, incr, each one call
// of the server function of the same name.
#include <psycache/cache.hpp>

#include "cache_1_1.hpp"
#include "result_fields.hpp"
#include "validation.hpp"

namespace psycache {

bool PostgresCache::add_raw(std::string_view key, const nlohmann::json& value, Ttl ttl) {
  const detail::CacheCore& core = *core_;
  try {
    detail::validate_key(key);
    std::string text = detail::value_text(key, value, options().max_value_bytes);
    return detail::bool_field(detail::run(core, detail::statements_1_1_of(core).add,
                                          {std::string{key}, std::move(text), ttl.to_interval()})
                                  .get(),
                              0);
  } catch (...) {
    detail::fail_of(core, nullptr, "add", &key);
  }
}

bool PostgresCache::touch(std::string_view key, Ttl ttl) {
  const detail::CacheCore& core = *core_;
  try {
    detail::validate_key(key);
    return detail::bool_field(detail::run(core, detail::statements_1_1_of(core).touch,
                                          {std::string{key}, ttl.to_interval()})
                                  .get(),
                              0);
  } catch (...) {
    detail::fail_of(core, nullptr, "touch", &key);
  }
}

std::optional<std::chrono::microseconds> PostgresCache::ttl(std::string_view key) {
  const detail::CacheCore& core = *core_;
  try {
    detail::validate_key(key);
    const detail::PgResult left =
        detail::run(core, detail::statements_1_1_of(core).ttl, {std::string{key}});
    if (detail::is_null_field(left.get(), 0)) return std::nullopt;
    return std::chrono::microseconds{detail::int_field(left.get(), 0)};
  } catch (...) {
    detail::fail_of(core, nullptr, "ttl", &key);
  }
}

std::int64_t PostgresCache::incr(std::string_view key, std::int64_t delta, Ttl ttl) {
  const detail::CacheCore& core = *core_;
  try {
    detail::validate_key(key);
    return detail::int_field(
        detail::run(core, detail::statements_1_1_of(core).incr,
                    {std::string{key}, std::to_string(delta), ttl.to_interval()})
            .get(),
        0);
  } catch (...) {
    detail::fail_of(core, nullptr, "incr", &key);
  }
}

}  // namespace psycache
