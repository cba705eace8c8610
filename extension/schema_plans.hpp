// The SPI plans a backend keeps for one set of statements, per cache schema.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "boundary.hpp"
#include "pg.hpp"
#include "statements.hpp"

namespace psycache {

// The kept plans of one schema. They are keyed by the schema's OID, so that the extension can be
// dropped and created again in another schema, and they remember the quoted name their SQL was
// written with, in case the schema is renamed.
template <std::size_t kCount>
struct SchemaPlans {
  Oid schema;
  std::string quoted_name;
  std::array<SPIPlanPtr, kCount> plans{};
};

// Backend-lifetime cache of kCount statements' plans. A backend serves a single database, so this
// holds one entry per cache schema called in it.
template <std::size_t kCount>
class SchemaPlanCache {
 public:
  // The plans for the schema of the function being called; freed and started again when that
  // schema was renamed since they were made.
  SchemaPlans<kCount>& For(FunctionCallInfo fcinfo) {
    Oid schema = InvalidOid;
    const char* quoted = ExtensionSchema(fcinfo, &schema);
    for (SchemaPlans<kCount>& entry : entries_) {
      if (entry.schema != schema) continue;
      if (entry.quoted_name != quoted) {
        Free(entry);
        entry.quoted_name = quoted;
      }
      return entry;
    }
    entries_.push_back(SchemaPlans<kCount>{schema, quoted});
    return entries_.back();
  }

 private:
  static void Free(SchemaPlans<kCount>& entry) {
    for (SPIPlanPtr& plan : entry.plans) {
      if (plan != nullptr) {
        SPIPlanPtr doomed = plan;
        plan = nullptr;
        PgCall([doomed] { return SPI_freeplan(doomed); });
      }
    }
  }

  std::vector<SchemaPlans<kCount>> entries_;
};

}  // namespace psycache
