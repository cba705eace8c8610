#include "boundary.hpp"

#include <cstring>
#include <new>

namespace psycache {
namespace {

// Longer messages are cut: ours are short, and a message must never make the copy fail.
constexpr size_t kMaxReportText = 8192;

// Copies text into the current memory context, for use inside a C++ catch block: it never raises
// a PostgreSQL error (which would longjmp out of the catch block) and returns nullptr instead.
const char* CopyInCatch(const char* text) noexcept {
  if (text == nullptr || text[0] == '\0') return nullptr;
  size_t length = strnlen(text, kMaxReportText);
  auto* copy = static_cast<char*>(
      MemoryContextAllocExtended(CurrentMemoryContext, length + 1, MCXT_ALLOC_NO_OOM));
  if (copy == nullptr) return nullptr;
  memcpy(copy, text, length);
  copy[length] = '\0';
  return copy;
}

}  // namespace

ErrorData* CatchPgError(void (*call)(void* arg), void* arg) {
  MemoryContext caller_context = CurrentMemoryContext;
  ErrorData* volatile error = nullptr;
  PG_TRY();
  { call(arg); }
  PG_CATCH();
  {
    // The error may have left any memory context current: copy the report where it will be used.
    MemoryContextSwitchTo(caller_context);
    error = CopyErrorData();
    FlushErrorState();
  }
  PG_END_TRY();
  return error;
}

Datum Guard(FunctionCallInfo fcinfo, FunctionBody body) noexcept {
  // The body may have switched memory contexts (SPI does) before it threw.
  MemoryContext caller_context = CurrentMemoryContext;
  ErrorData* pg_error = nullptr;
  int sqlstate = ERRCODE_INTERNAL_ERROR;
  const char* message = nullptr;
  const char* detail = nullptr;
  const char* hint = nullptr;

  // The catch blocks only copy plain data: the report is raised after them, once the exception
  // object and everything the body owned are destroyed.
  try {
    return body(fcinfo);
  } catch (const PgError& e) {
    pg_error = e.data();
  } catch (const Error& e) {
    MemoryContextSwitchTo(caller_context);
    sqlstate = e.sqlstate();
    message = CopyInCatch(e.what());
    detail = CopyInCatch(e.detail().c_str());
    hint = CopyInCatch(e.hint().c_str());
    if (message == nullptr) sqlstate = ERRCODE_OUT_OF_MEMORY;
  } catch (const std::bad_alloc&) {
    sqlstate = ERRCODE_OUT_OF_MEMORY;
    message = "out of memory";
    detail = "A C++ allocation in psycache failed.";
  } catch (const std::exception& e) {
    MemoryContextSwitchTo(caller_context);
    message = CopyInCatch(e.what());
    if (message == nullptr) message = "unexpected C++ exception in psycache";
    detail = "psycache raised an unexpected C++ exception.";
  } catch (...) {
    message = "unexpected C++ exception in psycache";
  }

  MemoryContextSwitchTo(caller_context);
  if (pg_error != nullptr) ThrowErrorData(pg_error);
  if (message == nullptr) message = "out of memory";  // the copy of an Error's message failed
  ereport(ERROR, (errcode(sqlstate), errmsg_internal("%s", message),
                  detail != nullptr ? errdetail_internal("%s", detail) : 0,
                  hint != nullptr ? errhint("%s", hint) : 0));
  pg_unreachable();
}

}  // namespace psycache
