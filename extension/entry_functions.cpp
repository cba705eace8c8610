// The single-key operations of 1.1: psycache_add, psycache_touch, psycache_ttl, psycache_incr.
// Each one is a single statement, atomic under concurrent callers.
#include "pg.hpp"
// The standard headers come after PostgreSQL's, which must be first.
#include <string>

#include "arguments.hpp"
#include "boundary.hpp"
#include "errors.hpp"
#include "statements_1_1.hpp"

namespace psycache {
namespace {

// The longest part of a key that an error message quotes, in bytes.
constexpr int kKeyBytesInMessages = 64;

// key in double quotes for a message, cut to kKeyBytesInMessages bytes (on a character boundary).
std::string QuotedKey(Datum key) {
  const char* chars = PgCall([key] { return TextDatumGetCString(key); });
  const int length = static_cast<int>(strlen(chars));
  const int shown =
      PgCall([chars, length] { return pg_mbcliplen(chars, length, kKeyBytesInMessages); });
  std::string quoted = "\"" + std::string(chars, shown) + "\"";
  if (shown < length) quoted += "...";
  return quoted;
}

// Argument argno as the delta of a counter: not NULL.
int64 DeltaArgument(FunctionCallInfo fcinfo, int argno) {
  if (PG_ARGISNULL(argno)) {
    throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "psycache delta must not be null", {},
                "Pass how much to add, for example 1, or a negative number to subtract.");
  }
  return PG_GETARG_INT64(argno);
}

// psycache_add(key, value, ttl) -> whether it stored: only when the key is missing or expired.
Datum Add(FunctionCallInfo fcinfo) {
  Datum args[] = {KeyArgument(fcinfo, 0), ValueArgument(fcinfo, 1),
                  TimestampTzGetDatum(ExpiryArgument(fcinfo, 2))};
  return BoolGetDatum(RunStatement11(fcinfo, Statement11::kAdd, args).rows == 1);
}

// psycache_touch(key, ttl) -> whether the key was live; if so it now expires after ttl.
Datum Touch(FunctionCallInfo fcinfo) {
  Datum args[] = {KeyArgument(fcinfo, 0), TimestampTzGetDatum(ExpiryArgument(fcinfo, 1))};
  return BoolGetDatum(RunStatement11(fcinfo, Statement11::kTouch, args).rows > 0);
}

// psycache_ttl(key) -> the time the key has left, or NULL when it is missing or expired.
Datum Ttl(FunctionCallInfo fcinfo) {
  Datum args[] = {KeyArgument(fcinfo, 0)};
  StatementResult found = RunStatement11(fcinfo, Statement11::kTtl, args);
  if (found.rows == 0 || found.nulls[0]) {
    fcinfo->isnull = true;
    return Datum{0};
  }
  return found.columns[0];
}

// psycache_incr(key, delta, ttl) -> the counter after adding delta. A missing or expired key
// starts at delta and expires after ttl; a live one keeps its expiry. The stored value must be a
// JSON integer and the sum must fit in a bigint; else nothing is written and the error says why.
Datum Incr(FunctionCallInfo fcinfo) {
  Datum args[] = {KeyArgument(fcinfo, 0), Int64GetDatum(DeltaArgument(fcinfo, 1)),
                  TimestampTzGetDatum(ExpiryArgument(fcinfo, 2))};
  StatementResult counted = RunStatement11(fcinfo, Statement11::kIncr, args);
  if (counted.rows == 1 && !counted.nulls[0]) return counted.columns[0];
  if (counted.rows != 1 || counted.nulls[1]) {
    throw Error(
        ERRCODE_T_R_SERIALIZATION_FAILURE,
        "psycache counter under key " + QuotedKey(args[0]) + " changed while psycache_incr ran",
        "Another transaction changed the key at the same time.", "Try again.");
  }
  const char* hint =
      "psycache_incr counts in a JSON integer, such as 42; remove the key or put an integer "
      "there first.";
  Datum type = counted.columns[1];
  const char* type_name = PgCall([type] { return TextDatumGetCString(type); });
  if (strcmp(type_name, "number") != 0) {
    throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                "psycache value under key " + QuotedKey(args[0]) + " is not a JSON integer",
                std::string("It is a JSON ") + type_name + ".", hint);
  }
  if (counted.nulls[2]) {
    throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                "psycache value under key " + QuotedKey(args[0]) + " is not a JSON integer",
                "It is a number with digits after the decimal point.", hint);
  }
  Datum sum = counted.columns[2];
  const char* digits =
      PgCall([sum] { return DatumGetCString(DirectFunctionCall1(numeric_out, sum)); });
  throw Error(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
              "psycache counter under key " + QuotedKey(args[0]) + " is out of range",
              std::string("The sum ") + digits + " does not fit in a bigint.");
}

}  // namespace
}  // namespace psycache

extern "C" {

PG_FUNCTION_INFO_V1(psycache_add);
Datum psycache_add(PG_FUNCTION_ARGS) { return psycache::Guard(fcinfo, psycache::Add); }

PG_FUNCTION_INFO_V1(psycache_touch);
Datum psycache_touch(PG_FUNCTION_ARGS) { return psycache::Guard(fcinfo, psycache::Touch); }

PG_FUNCTION_INFO_V1(psycache_ttl);
Datum psycache_ttl(PG_FUNCTION_ARGS) { return psycache::Guard(fcinfo, psycache::Ttl); }

PG_FUNCTION_INFO_V1(psycache_incr);
Datum psycache_incr(PG_FUNCTION_ARGS) { return psycache::Guard(fcinfo, psycache::Incr); }
}
