// PostgreSQL's C headers for the extension's C++ sources: postgres.h comes first (it sets up the
// platform for every other header) and everything has C linkage.
#pragma once

// The headers still use `register`, which C++17 removed; compilers accept it in C linkage code
// but warn (g++) or fail (clang, which builds the LLVM bitcode).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"

extern "C" {
#include "postgres.h"
// The others, in any order.
#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

#pragma GCC diagnostic pop
