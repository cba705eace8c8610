// Making the library's error messages read well after "psycache: <command> failed: ".
#pragma once

#include <string>
#include <string_view>

namespace psycache::cli {

// The reason in message, a psycache::Error's what(), without the lead the
// library puts before server errors, "<operation> failed: " or "<operation>
// of key "..." failed: ", which would repeat what the CLI already says.
// operation is the library's name for it ("get", "cleanup_expired",
// "init_db"...). The advice in the message is put in the CLI's terms: the
// library names CacheOptions::schema and psycache::init_db where a user of
// the CLI has --schema and `psycache init-db`.
std::string failure_reason(std::string_view message, std::string_view operation);

// An nlohmann_json exception message without its "[json.exception.x.y] " id.
std::string without_json_exception_id(std::string_view message);

}  // namespace psycache::cli
