// The array arguments of the batch functions, checked element by element: the same rules as
// arguments.hpp for each key and value, plus the shape of the arrays.
#pragma once

#include "pg.hpp"

namespace psycache {

// An array argument that has been checked: the array itself, to pass on to SPI, how many
// elements it holds, and the elements (palloc'd, none of them NULL).
struct ArrayArgument {
  Datum array;
  int count;
  const Datum* elements;
};

// Argument argno as an array of cache keys (what) : not NULL, at most one dimension, no NULL
// element, each at most kMaxKeyBytes bytes. The error for a bad element names its position.
ArrayArgument KeysArgument(FunctionCallInfo fcinfo, int argno);

// Argument argno as an array of values to store, one per key (keys_count of them): not NULL, at
// most one dimension, no NULL element (a JSON null, 'null'::jsonb, is a value).
ArrayArgument ValuesArgument(FunctionCallInfo fcinfo, int argno, int keys_count);

}  // namespace psycache
