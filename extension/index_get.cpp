#include "index_get.hpp"

#include "boundary.hpp"
#include "statements.hpp"

// The headers of the index access and snapshot calls used only here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
extern "C" {
#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_opfamily_d.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "storage/sinval.h"
#include "tcop/pquery.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
}
#pragma GCC diagnostic pop

namespace psycache {
namespace {

// The attribute numbers of the three columns, as the extension creates them.
struct Columns {
  AttrNumber key;
  AttrNumber value;
  AttrNumber expires_at;
};

// Finds key text, value jsonb and expires_at timestamptz in the table; false if one is missing
// or of another type (the SQL would then fail, or mean something else).
bool FindColumns(Relation table, Columns* columns) {
  *columns = Columns{};
  TupleDesc desc = RelationGetDescr(table);
  for (int i = 0; i < desc->natts; ++i) {
    Form_pg_attribute attribute = TupleDescAttr(desc, i);
    if (attribute->attisdropped) continue;
    const char* name = NameStr(attribute->attname);
    if (strcmp(name, "key") == 0 && attribute->atttypid == TEXTOID) {
      columns->key = attribute->attnum;
    } else if (strcmp(name, "value") == 0 && attribute->atttypid == JSONBOID) {
      columns->value = attribute->attnum;
    } else if (strcmp(name, "expires_at") == 0 && attribute->atttypid == TIMESTAMPTZOID) {
      columns->expires_at = attribute->attnum;
    }
  }
  return columns->key != 0 && columns->value != 0 && columns->expires_at != 0;
}

// What ExecCheckRTPerms asks of the SELECT: the privilege on the table, or else on every column
// the statement reads.
bool MaySelect(Relation table, const Columns& columns) {
  const Oid relid = RelationGetRelid(table);
  const Oid user = GetUserId();
  if (pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK) return true;
  for (AttrNumber column : {columns.key, columns.value, columns.expires_at}) {
    if (pg_attribute_aclcheck(relid, column, user, ACL_SELECT) != ACLCHECK_OK) return false;
  }
  return true;
}

// The primary key index of table, locked (AccessShareLock) and open; nullptr when there is none
// fit for the lookup (then nothing is left locked by this call). As for the table, the index list
// is read again if invalidation messages arrived while the lock was taken.
Relation OpenPrimaryKey(Relation table, AttrNumber key_column) {
  Oid index_oid = InvalidOid;
  for (;;) {
    const uint64 seen = SharedInvalidMessageCounter;
    index_oid = RelationGetPrimaryKeyIndex(table);
    if (!OidIsValid(index_oid)) return nullptr;
    LockRelationOid(index_oid, AccessShareLock);
    if (seen == SharedInvalidMessageCounter || RelationGetPrimaryKeyIndex(table) == index_oid)
      break;
    UnlockRelationOid(index_oid, AccessShareLock);
  }
  Relation index = index_open(index_oid, NoLock);
  const Oid collation = index->rd_indcollation[0];
  const bool fit = index->rd_index->indisvalid && index->rd_index->indisready &&
                   index->rd_rel->relam == BTREE_AM_OID &&
                   IndexRelationGetNumberOfKeyAttributes(index) == 1 &&
                   index->rd_index->indkey.values[0] == key_column &&
                   index->rd_opfamily[0] == TEXT_BTREE_FAM_OID &&
                   (collation == DEFAULT_COLLATION_OID || collation == C_COLLATION_OID ||
                    get_collation_isdeterministic(collation));
  if (fit) return index;
  index_close(index, AccessShareLock);
  return nullptr;
}

// An open read of the cache table through its primary key: the table and the index (locked and
// open), the snapshot pushed, one index scan and one slot, reused for every key.
struct Reader {
  Relation table;
  Relation index;
  Columns columns;
  IndexScanDesc scan;
  TupleTableSlot* slot;
};

// Opens the read on the table the caller locked; false, with nothing open (only the table's lock
// kept), when the SQL must run instead. Plain PostgreSQL calls only: run through PgCall, so an
// error raised anywhere here skips no C++ object. On an error the snapshot, the scan and the
// relations are released by the abort of the (sub)transaction, as for the executor.
bool OpenReader(Oid table_oid, Reader* reader) {
  Relation table = table_open(table_oid, NoLock);
  Columns columns{};
  // Row-level security and permission hooks are the executor's business, and so is refusing a
  // role without the privilege (the SQL raises that error, with the statement as its context,
  // exactly as before) or refusing to read an unlogged table on a standby.
  if (RecoveryInProgress() || table->rd_rel->relkind != RELKIND_RELATION ||
      table->rd_rel->relrowsecurity || ExecutorCheckPerms_hook != nullptr ||
      !FindColumns(table, &columns) || !MaySelect(table, columns)) {
    table_close(table, NoLock);
    return false;
  }
  Relation index = OpenPrimaryKey(table, columns.key);
  if (index == nullptr) {
    table_close(table, NoLock);
    return false;
  }

  // As SPI runs a statement of a volatile function: a new snapshot (in READ COMMITTED it sees
  // what committed since the calling statement began), the command counter advanced so that the
  // calling transaction's own changes are seen.
  EnsurePortalSnapshotExists();
  PushActiveSnapshot(GetTransactionSnapshot());
  CommandCounterIncrement();
  UpdateActiveSnapshotCommandId();

  *reader = Reader{table, index, columns, index_beginscan(table, index, GetActiveSnapshot(), 1, 0),
                   table_slot_create(table, nullptr)};
  return true;
}

// Reads the entry of key: columns[0] its value, columns[1] its stored size (pg_column_size), or
// two NULLs when it is missing or expired. A value stored out of line is fetched into
// value_context; one stored inline points into the slot's page, valid until the next read.
void ReadEntry(Reader* reader, Datum key, MemoryContext value_context, Datum* columns,
               bool* nulls) {
  ScanKeyData scan_key;
  ScanKeyEntryInitialize(&scan_key, 0, 1, BTEqualStrategyNumber, TEXTOID,
                         reader->index->rd_indcollation[0], F_TEXTEQ, key);
  index_rescan(reader->scan, &scan_key, 1, nullptr, 0);
  nulls[0] = nulls[1] = true;
  // The key is unique: the first row visible to the snapshot is the only one.
  if (!index_getnext_slot(reader->scan, ForwardScanDirection, reader->slot)) return;
  bool expiry_null = true;
  Datum expires_at = slot_getattr(reader->slot, reader->columns.expires_at, &expiry_null);
  // expires_at > statement_timestamp(), the comparison timestamptz_gt makes.
  if (expiry_null || DatumGetTimestampTz(expires_at) <= GetCurrentStatementStartTimestamp()) return;
  Datum value = slot_getattr(reader->slot, reader->columns.value, &nulls[0]);
  if (nulls[0]) return;
  // pg_column_size: the size as stored, compressed or out of line.
  columns[1] = Int32GetDatum(static_cast<int32>(toast_datum_size(value)));
  nulls[1] = false;
  if (VARATT_IS_EXTERNAL(DatumGetPointer(value))) {
    value =
        PointerGetDatum(detoast_external_attr(reinterpret_cast<varlena*>(DatumGetPointer(value))));
  }
  columns[0] = value;
}

void CloseReader(Reader* reader) {
  ExecDropSingleTupleTableSlot(reader->slot);
  index_endscan(reader->scan);
  CommandCounterIncrement();
  PopActiveSnapshot();
  // The locks are kept until the end of the transaction, as the executor keeps them.
  index_close(reader->index, NoLock);
  table_close(reader->table, NoLock);
}

struct Lookup {
  Oid table_oid;  // locked by the caller
  Datum key;
  TupleDesc desc;
  Datum result;
};

// One key: the record of desc, formed while the slot still holds the page of an inline value.
bool ReadOne(Lookup* lookup) {
  Reader reader;
  if (!OpenReader(lookup->table_oid, &reader)) return false;
  Datum columns[2] = {0, 0};
  bool nulls[2] = {true, true};
  ReadEntry(&reader, lookup->key, CurrentMemoryContext, columns, nulls);
  lookup->result = HeapTupleGetDatum(heap_form_tuple(lookup->desc, columns, nulls));
  CloseReader(&reader);
  return true;
}

struct BatchLookup {
  Oid table_oid;  // locked by the caller
  const Datum* keys;
  int count;
  Tuplestorestate* sink;
  TupleDesc sink_desc;
};

// Every key, in order: a row (key, value, size) each, appended to the sink, which copies it. A
// fetched out-of-line value lives in a memory context of its own, emptied after each row.
bool ReadMany(BatchLookup* batch) {
  Reader reader;
  if (!OpenReader(batch->table_oid, &reader)) return false;
  MemoryContext row_context =
      AllocSetContextCreate(CurrentMemoryContext, "psycache get_many row", ALLOCSET_SMALL_SIZES);
  for (int i = 0; i < batch->count; ++i) {
    CHECK_FOR_INTERRUPTS();
    Datum columns[3] = {batch->keys[i], 0, 0};
    bool nulls[3] = {false, true, true};
    ReadEntry(&reader, batch->keys[i], row_context, &columns[1], &nulls[1]);
    tuplestore_putvalues(batch->sink, batch->sink_desc, columns, nulls);
    MemoryContextReset(row_context);
  }
  MemoryContextDelete(row_context);
  CloseReader(&reader);
  return true;
}

}  // namespace

IndexGetOutcome IndexGet(FunctionCallInfo fcinfo, Datum key, TupleDesc desc, Datum* result) {
  const Oid table = LockCacheTable(fcinfo, AccessShareLock);
  if (!OidIsValid(table)) return IndexGetOutcome::kNotApplicable;
  Lookup lookup{table, key, desc, 0};
  Lookup* lookup_pointer = &lookup;
  if (!PgCall([lookup_pointer] { return ReadOne(lookup_pointer); })) {
    return IndexGetOutcome::kNotApplicable;
  }
  *result = lookup.result;
  return IndexGetOutcome::kDone;
}

IndexGetOutcome IndexGetMany(FunctionCallInfo fcinfo, const Datum* keys, int count,
                             Tuplestorestate* sink, TupleDesc sink_desc) {
  const Oid table = LockCacheTable(fcinfo, AccessShareLock);
  if (!OidIsValid(table)) return IndexGetOutcome::kNotApplicable;
  BatchLookup batch{table, keys, count, sink, sink_desc};
  BatchLookup* batch_pointer = &batch;
  if (!PgCall([batch_pointer] { return ReadMany(batch_pointer); })) {
    return IndexGetOutcome::kNotApplicable;
  }
  return IndexGetOutcome::kDone;
}

}  // namespace psycache
