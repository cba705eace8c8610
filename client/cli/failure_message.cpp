#include "failure_message.hpp"

#include <utility>

namespace psycache::cli {
namespace {

// Removes a quoted key ("...", with backslash escapes, maybe followed by
// "... (N bytes)" when cut short) from the front of text; false if there is none.
bool skip_quoted_key(std::string_view& text) {
  if (!text.starts_with('"')) return false;
  std::size_t pos = 1;
  while (pos < text.size() && text[pos] != '"') pos += text[pos] == '\\' ? 2 : 1;
  if (pos >= text.size()) return false;
  text.remove_prefix(pos + 1);
  if (text.starts_with("... (")) {
    const std::size_t close = text.find(')');
    if (close == std::string_view::npos) return false;
    text.remove_prefix(close + 1);
  }
  return true;
}

// message with every from replaced by to.
std::string replace_all(std::string message, std::string_view from, std::string_view to) {
  for (std::size_t pos = message.find(from); pos != std::string::npos;
       pos = message.find(from, pos + to.size())) {
    message.replace(pos, from.size(), to);
  }
  return message;
}

std::string in_cli_terms(std::string_view message) {
  std::string text = replace_all(std::string{message}, "CacheOptions::schema", "--schema");
  return replace_all(std::move(text), "psycache::init_db", "psycache init-db");
}

}  // namespace

std::string failure_reason(std::string_view message, std::string_view operation) {
  constexpr std::string_view kFailed = " failed: ";
  constexpr std::string_view kOfKey = " of key ";
  std::string_view rest = message;
  if (operation.empty() || !rest.starts_with(operation)) return in_cli_terms(message);
  rest.remove_prefix(operation.size());
  if (rest.starts_with(kOfKey)) {
    rest.remove_prefix(kOfKey.size());
    if (!skip_quoted_key(rest)) return in_cli_terms(message);
  }
  if (!rest.starts_with(kFailed)) return in_cli_terms(message);
  rest.remove_prefix(kFailed.size());
  return in_cli_terms(rest);
}

std::string without_json_exception_id(std::string_view message) {
  if (message.starts_with("[json.exception.")) {
    const std::size_t end = message.find("] ");
    if (end != std::string_view::npos) message.remove_prefix(end + 2);
  }
  return std::string{message};
}

}  // namespace psycache::cli
