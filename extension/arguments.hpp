// The arguments of the cache functions, checked: each bad one is refused with its own error.
#pragma once

#include "pg.hpp"

namespace psycache {

// The longest key psycache accepts, in bytes. A btree index entry must fit in a third of a page
// (about 2700 bytes with 8 kB pages); 2048 bytes leaves room for the tuple header, so every
// accepted key fits the primary key index, however incompressible it is.
constexpr int kMaxKeyBytes = 2048;

// Argument argno as a cache key: not NULL, at most kMaxKeyBytes bytes. The empty key is allowed.
Datum KeyArgument(FunctionCallInfo fcinfo, int argno);

// Argument argno as a value to store: not NULL (a JSON null, 'null'::jsonb, is a value).
Datum ValueArgument(FunctionCallInfo fcinfo, int argno);

// The expiry for the ttl in argument argno: statement_timestamp() + ttl, the same sum SQL
// computes. A NULL ttl, or one that puts the expiry outside timestamptz, is refused.
TimestampTz ExpiryArgument(FunctionCallInfo fcinfo, int argno);

// Argument argno as the batch size of a cleanup: not NULL, at least 1.
int32 BatchSizeArgument(FunctionCallInfo fcinfo, int argno);

}  // namespace psycache
