#include "stored_size.hpp"

#include "boundary.hpp"

namespace psycache {

bool ValueColumnIsJsonb(Oid table) {
  return PgCall([table] {
    HeapTuple attribute = SearchSysCacheAttName(table, "value");
    if (!HeapTupleIsValid(attribute)) return false;
    const bool jsonb =
        reinterpret_cast<Form_pg_attribute>(GETSTRUCT(attribute))->atttypid == JSONBOID;
    ReleaseSysCache(attribute);
    return jsonb;
  });
}

int32 StoredSize(Datum value) {
  // fill_val's choice of form in heap_form_tuple for a type that allows short headers (jsonb),
  // then pg_column_size of the result.
  const char* pointer = DatumGetPointer(value);
  // A TOAST pointer is measured as pg_column_size measures it; a short datum is copied as it is.
  if (VARATT_IS_EXTERNAL(pointer)) {
    return PgCall([value] { return static_cast<int32>(toast_datum_size(value)); });
  }
  if (VARATT_IS_SHORT(pointer)) return static_cast<int32>(VARSIZE_SHORT(pointer));
  if (VARATT_CAN_MAKE_SHORT(pointer)) {
    return static_cast<int32>(VARATT_CONVERTED_SHORT_SIZE(pointer));
  }
  return static_cast<int32>(VARSIZE(pointer));
}

}  // namespace psycache
