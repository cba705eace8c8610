#include "batch_arguments.hpp"

#include <string>

#include "arguments.hpp"
#include "boundary.hpp"
#include "errors.hpp"

extern "C" {
#include "utils/array.h"
}

namespace psycache {
namespace {

// The elements of a one-dimensional array, palloc'd (deconstruct_array's result).
struct Elements {
  Datum* values;
  bool* nulls;
  int count;
};

// Argument argno as an array named what ("keys", "values") of element_type: not NULL, at most
// one dimension; its elements.
Elements ArrayElements(FunctionCallInfo fcinfo, int argno, const char* what, Oid element_type,
                       const char* hint) {
  if (PG_ARGISNULL(argno)) {
    throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED,
                std::string("psycache ") + what + " must not be null", {}, hint);
  }
  Datum datum = PG_GETARG_DATUM(argno);
  ArrayType* array = PgCall([datum] { return DatumGetArrayTypeP(datum); });
  if (ARR_NDIM(array) > 1) {
    throw Error(ERRCODE_ARRAY_SUBSCRIPT_ERROR,
                std::string("psycache ") + what + " must be a one-dimensional array",
                "The array has " + std::to_string(ARR_NDIM(array)) + " dimensions.");
  }
  Elements elements{nullptr, nullptr, 0};
  Elements* out = &elements;
  PgCall([array, element_type, out] {
    int16 length = 0;
    bool by_value = false;
    char align = 0;
    get_typlenbyvalalign(element_type, &length, &by_value, &align);
    deconstruct_array(array, element_type, length, by_value, align, &out->values, &out->nulls,
                      &out->count);
  });
  return elements;
}

std::string Position(int index) { return "Element " + std::to_string(index + 1); }

}  // namespace

ArrayArgument KeysArgument(FunctionCallInfo fcinfo, int argno) {
  Elements keys = ArrayElements(fcinfo, argno, "keys", TEXTOID,
                                "Pass an array of keys, e.g. "
                                "ARRAY['a', 'b']; it may be empty.");
  for (int i = 0; i < keys.count; ++i) {
    if (keys.nulls[i]) {
      throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "psycache key must not be null",
                  Position(i) + " of keys is null.");
    }
    Datum key = keys.values[i];
    Size bytes = PgCall([key] { return toast_raw_datum_size(key); }) - VARHDRSZ;
    if (bytes > static_cast<Size>(kMaxKeyBytes)) {
      throw Error(ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                  "psycache key is " + std::to_string(bytes) + " bytes long, over the limit of " +
                      std::to_string(kMaxKeyBytes) + " bytes",
                  Position(i) +
                      " of keys is too long. Every key must fit the btree index of "
                      "the cache table.",
                  "Use a shorter key, for example a hash of the long one.");
    }
  }
  return ArrayArgument{PG_GETARG_DATUM(argno), keys.count, keys.values};
}

ArrayArgument ValuesArgument(FunctionCallInfo fcinfo, int argno, int keys_count) {
  const char* hint = "To store a JSON null, pass 'null'::jsonb.";
  Elements values = ArrayElements(fcinfo, argno, "values", JSONBOID, hint);
  if (values.count != keys_count) {
    throw Error(ERRCODE_ARRAY_SUBSCRIPT_ERROR, "psycache keys and values must have the same length",
                "There are " + std::to_string(keys_count) + " keys and " +
                    std::to_string(values.count) + " values.",
                "Pass one value per key, in the same order.");
  }
  for (int i = 0; i < values.count; ++i) {
    if (values.nulls[i]) {
      throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "psycache value must not be null",
                  Position(i) + " of values is null.", hint);
    }
  }
  return ArrayArgument{PG_GETARG_DATUM(argno), values.count, values.values};
}

}  // namespace psycache
