#include "arguments.hpp"

#include <string>

#include "boundary.hpp"
#include "errors.hpp"

namespace psycache {
namespace {

// The functions are not STRICT, so that a NULL argument gets an error instead of a NULL result.
void RefuseNull(FunctionCallInfo fcinfo, int argno, const char* what, const char* hint) {
  if (PG_ARGISNULL(argno)) {
    throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED,
                std::string("psycache ") + what + " must not be null", {}, hint);
  }
}

}  // namespace

Datum KeyArgument(FunctionCallInfo fcinfo, int argno) {
  RefuseNull(fcinfo, argno, "key", "");
  Datum key = PG_GETARG_DATUM(argno);
  // The raw size is read from the varlena header (or the TOAST pointer): nothing is fetched.
  Size bytes = PgCall([key] { return toast_raw_datum_size(key); }) - VARHDRSZ;
  if (bytes > static_cast<Size>(kMaxKeyBytes)) {
    throw Error(ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                "psycache key is " + std::to_string(bytes) + " bytes long, over the limit of " +
                    std::to_string(kMaxKeyBytes) + " bytes",
                "Every key must fit the btree index of the cache table.",
                "Use a shorter key, for example a hash of the long one.");
  }
  return key;
}

Datum ValueArgument(FunctionCallInfo fcinfo, int argno) {
  RefuseNull(fcinfo, argno, "value", "To store a JSON null, pass 'null'::jsonb.");
  return PG_GETARG_DATUM(argno);
}

TimestampTz ExpiryArgument(FunctionCallInfo fcinfo, int argno) {
  RefuseNull(fcinfo, argno, "ttl", "Every entry expires: pass an interval, for example '1 hour'.");
  Datum ttl = PG_GETARG_DATUM(argno);
  Datum now = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
  // The sum has no side effects, so its out-of-range error can be replaced by ours without a
  // subtransaction; any other error goes on unchanged.
  try {
    return DatumGetTimestampTz(
        PgCall([now, ttl] { return DirectFunctionCall2(timestamptz_pl_interval, now, ttl); }));
  } catch (const PgError& e) {
    if (e.sqlstate() != ERRCODE_DATETIME_VALUE_OUT_OF_RANGE) throw;
  }
  const char* text =
      PgCall([ttl] { return DatumGetCString(DirectFunctionCall1(interval_out, ttl)); });
  throw Error(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE, "psycache ttl is out of range",
              std::string("The ttl '") + text +
                  "' puts the expiry, statement_timestamp() + ttl, outside the range of timestamp "
                  "with time zone.");
}

int32 BatchSizeArgument(FunctionCallInfo fcinfo, int argno) {
  const char* hint =
      "Pass how many rows to delete per batch, for example 10000, or call psycache_cleanup() "
      "without an argument.";
  RefuseNull(fcinfo, argno, "batch size", hint);
  int32 batch_size = PG_GETARG_INT32(argno);
  if (batch_size < 1) {
    throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "psycache batch size must be at least 1",
                "The batch size is " + std::to_string(batch_size) + ".", hint);
  }
  return batch_size;
}

}  // namespace psycache
