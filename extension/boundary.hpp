// The boundary between C++ and PostgreSQL errors, both ways:
//
//  - Guard: every SQL-callable function runs its C++ body through it. No C++ exception escapes
//    into PostgreSQL; each one becomes ereport(ERROR) after every destructor has run.
//  - PgCall: C++ code calls PostgreSQL functions that can ereport(ERROR) through it. The longjmp
//    of such an error stops in PgCall's own jump buffer, so it only ever skips the plain frames of
//    the call itself, and comes back out as a C++ exception (PgError).
#pragma once

#include "pg.hpp"
// The standard headers come after PostgreSQL's, which must be first.
#include <type_traits>

#include "errors.hpp"

namespace psycache {

using FunctionBody = Datum (*)(FunctionCallInfo fcinfo);

// Runs body(fcinfo) and returns its result, or raises whatever it threw as a PostgreSQL error: a
// PgError unchanged, an Error with its sqlstate, message, detail and hint, anything else as an
// internal (or out of memory) error.
Datum Guard(FunctionCallInfo fcinfo, FunctionBody body) noexcept;

// Runs call(arg) with its own jump buffer. Returns nullptr, or the PostgreSQL error it raised,
// copied into the memory context that was current at the start and cleared from the error state.
ErrorData* CatchPgError(void (*call)(void* arg), void* arg);

// Calls call(), a PostgreSQL call that may ereport(ERROR), and returns its result; an error comes
// out as a PgError. The callable must keep no C++ object with a destructor alive while it calls
// PostgreSQL (a lambda over plain values and pointers), because the longjmp skips its frame.
template <typename Call>
auto PgCall(Call&& call) {
  using Result = decltype(call());
  if constexpr (std::is_void_v<Result>) {
    PgCall([&call] {
      call();
      return true;
    });
  } else {
    static_assert(std::is_trivially_copyable_v<Result> && std::is_trivially_destructible_v<Result>,
                  "a longjmp may skip the result: it must be a plain value");
    struct Frame {
      Call* call;
      Result result;
    } frame{&call, Result{}};
    ErrorData* error = CatchPgError(
        [](void* arg) {
          auto* frame = static_cast<Frame*>(arg);
          frame->result = (*frame->call)();
        },
        &frame);
    // Only here, with PG_exception_stack restored, may a C++ exception start.
    if (error != nullptr) throw PgError(error);
    return frame.result;
  }
}

}  // namespace psycache
