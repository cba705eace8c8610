#include "statements_1_1.hpp"

#include <array>
#include <string>
#include <vector>

#include "boundary.hpp"
#include "errors.hpp"
#include "schema_plans.hpp"

namespace psycache {
namespace {

constexpr size_t kStatementCount = 7;

struct StatementSpec {
  int nargs;
  Oid argtypes[3];
};

// Parameters of each statement, in the order of enum Statement11.
const StatementSpec kSpecs[kStatementCount] = {
    {1, {TEXTARRAYOID}},                                 // get_many: keys
    {3, {TEXTARRAYOID, JSONBARRAYOID, TIMESTAMPTZOID}},  // put_many: keys, values, expires_at
    {1, {TEXTARRAYOID}},                                 // remove_many: keys
    {3, {TEXTOID, JSONBOID, TIMESTAMPTZOID}},            // add: key, value, expires_at
    {2, {TEXTOID, TIMESTAMPTZOID}},                      // touch: key, expires_at
    {1, {TEXTOID}},                                      // ttl: key
    {3, {TEXTOID, INT8OID, TIMESTAMPTZOID}},             // incr: key, delta, expires_at
};

// The SQL of statement for the cache table in schema (already quoted). Every function, operator,
// type and collation is qualified with pg_catalog, so that nothing resolves through the
// search_path.
//
// Row locks: a statement that locks several rows (put_many, remove_many) locks them in the byte
// order of their keys (COLLATE "C"), each key once, so that two batches over overlapping keys wait
// for each other in the same order and cannot deadlock. INSERT takes its rows in the order its
// SELECT delivers them; SELECT ... ORDER BY ... FOR UPDATE locks after sorting.
std::string SqlFor(Statement11 statement, const std::string& schema) {
  const std::string table = schema + ".psycache";
  const std::string now = "pg_catalog.statement_timestamp()";
  const std::string live = "c.expires_at OPERATOR(pg_catalog.>) " + now;
  const std::string expired = "c.expires_at OPERATOR(pg_catalog.<=) " + now;
  const std::string byte_order = " COLLATE pg_catalog.\"C\"";
  switch (statement) {
    case Statement11::kGetMany:
      // One row per element of $1, in its order: a miss has a NULL value and size.
      return "SELECT k.key, c.value, pg_catalog.pg_column_size(c.value)"
             " FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(key, n)"
             " LEFT JOIN " +
             table + " AS c ON c.key OPERATOR(pg_catalog.=) k.key AND " + live + " ORDER BY k.n";
    case Statement11::kPutMany:
      // The last value of a key given twice wins; one row: the stored sizes in the order of $1.
      return "WITH stored AS ("
             "INSERT INTO " +
             table +
             " AS c (key, value, expires_at)"
             " SELECT DISTINCT ON (u.key" +
             byte_order + ") u.key, u.value, $3" +
             " FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2))"
             " WITH ORDINALITY AS u(key, value, n)"
             " ORDER BY u.key" +
             byte_order +
             ", u.n DESC"
             " ON CONFLICT (key) DO UPDATE"
             " SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at"
             " RETURNING c.key, pg_catalog.pg_column_size(c.value) AS size) "
             "SELECT pg_catalog.array_agg(s.size ORDER BY k.n)"
             " FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(key, n)"
             " JOIN stored AS s ON s.key OPERATOR(pg_catalog.=) k.key";
    case Statement11::kRemoveMany:
      // Locks first, in order, then deletes exactly those rows; expired ones are deleted too, but
      // only live ones count. One row: the count.
      return "WITH doomed AS ("
             "SELECT c.ctid FROM " +
             table + " AS c WHERE c.key OPERATOR(pg_catalog.=) ANY ($1) ORDER BY c.key" +
             byte_order +
             " FOR UPDATE OF c), "
             "gone AS ("
             "DELETE FROM " +
             table +
             " AS c WHERE c.ctid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT d.ctid FROM doomed AS "
             "d)) RETURNING " +
             live +
             " AS live) "
             "SELECT pg_catalog.count(*) FILTER (WHERE g.live) FROM gone AS g";
    case Statement11::kAdd:
      // Processes one row when it stored; an expired entry is replaced as if absent. Under a
      // concurrent add of the same key, ON CONFLICT waits for the other transaction and then
      // sees its live row: exactly one of them stores.
      return "INSERT INTO " + table +
             " AS c (key, value, expires_at) VALUES ($1, $2, $3)"
             " ON CONFLICT (key) DO UPDATE"
             " SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at WHERE " +
             expired;
    case Statement11::kTouch:
      // Processes one row when the key was live.
      return "UPDATE " + table + " AS c SET expires_at = $2 WHERE c.key OPERATOR(pg_catalog.=) $1" +
             " AND " + live;
    case Statement11::kTtl:
      // One row, the remaining interval, when the key is live; no row otherwise.
      return "SELECT c.expires_at OPERATOR(pg_catalog.-) " + now + " FROM " + table +
             " AS c WHERE c.key OPERATOR(pg_catalog.=) $1 AND " + live;
    case Statement11::kIncr: {
      // A missing or expired key is stored as delta ($2) with expiry $3. A live one gets delta
      // added and keeps its expiry, but only when its value is a JSON integer and the sum fits
      // in a bigint: a refused incr writes nothing. One row: the new counter (bigint); or, when
      // refused, NULL and what the value is: its JSON type, and for a number the sum (numeric)
      // and the number's scale, for the caller's error. No row when the key changed between
      // the two (the SELECT's snapshot is older than the row ON CONFLICT saw).
      const std::string number = "CAST(c.value AS pg_catalog.numeric)";
      const std::string sum = number + " OPERATOR(pg_catalog.+) CAST($2 AS pg_catalog.numeric)";
      const std::string is_number =
          "pg_catalog.jsonb_typeof(c.value) OPERATOR(pg_catalog.=) 'number'";
      // CASE, not AND: the casts must only see numbers.
      const std::string countable =
          "CASE WHEN " + expired + " THEN true WHEN " + is_number + " THEN pg_catalog.scale(" +
          number + ") OPERATOR(pg_catalog.=) 0 AND " + sum +
          " BETWEEN -9223372036854775808 AND 9223372036854775807 ELSE false END";
      return "WITH counted AS ("
             "INSERT INTO " +
             table +
             " AS c (key, value, expires_at) VALUES ($1, pg_catalog.to_jsonb($2), $3)"
             " ON CONFLICT (key) DO UPDATE SET"
             " value = CASE WHEN " +
             expired + " THEN EXCLUDED.value ELSE pg_catalog.to_jsonb(" + sum +
             ") END,"
             " expires_at = CASE WHEN " +
             expired +
             " THEN EXCLUDED.expires_at ELSE c.expires_at END"
             " WHERE " +
             countable + " RETURNING CAST(c.value AS pg_catalog.int8) AS counter) " +
             "SELECT k.counter, NULL::pg_catalog.text, NULL::pg_catalog.numeric FROM counted AS k "
             "UNION ALL "
             "SELECT NULL, pg_catalog.jsonb_typeof(c.value), CASE WHEN " +
             is_number + " AND pg_catalog.scale(" + number + ") OPERATOR(pg_catalog.=) 0 THEN " +
             sum + " END FROM " + table + " AS c WHERE c.key OPERATOR(pg_catalog.=) $1 AND " +
             live + " AND NOT EXISTS (SELECT FROM counted)";
    }
  }
  throw Error(ERRCODE_INTERNAL_ERROR, "unknown psycache statement");
}

// Backend-lifetime plans, per cache schema.
SchemaPlanCache<kStatementCount> plan_cache;

// datum, fetched if it is stored out of line, in the current memory context.
Datum Inline(Datum datum, Form_pg_attribute attribute) {
  if (attribute->attlen == -1 && VARATT_IS_EXTERNAL(DatumGetPointer(datum))) {
    return PointerGetDatum(
        detoast_external_attr(reinterpret_cast<varlena*>(DatumGetPointer(datum))));
  }
  return datum;
}

// Prepares (once) and runs a statement: plain PostgreSQL calls only, made through PgCall. On an
// error the SPI connection is left open: the abort that follows the re-raised error closes it.
StatementResult Execute(SPIPlanPtr* plan, const char* sql, const StatementSpec& spec, Datum* args,
                        Tuplestorestate* sink, TupleDesc sink_desc) {
  MemoryContext caller_context = CurrentMemoryContext;
  int rc = SPI_connect();
  if (rc != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));

  if (*plan == nullptr) {
    SPIPlanPtr prepared = SPI_prepare(sql, spec.nargs, const_cast<Oid*>(spec.argtypes));
    if (prepared == nullptr) {
      elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
    }
    rc = SPI_keepplan(prepared);
    if (rc != 0) elog(ERROR, "SPI_keepplan failed: %s", SPI_result_code_string(rc));
    *plan = prepared;
  }

  rc = SPI_execute_plan(*plan, args, nullptr, false, 0);
  if (rc < 0) elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));

  StatementResult result{};
  result.rows = SPI_processed;
  for (bool& null : result.nulls) null = true;
  if (SPI_tuptable != nullptr && SPI_processed > 0) {
    TupleDesc desc = SPI_tuptable->tupdesc;
    for (uint64 r = 0; r < (sink != nullptr ? SPI_processed : 1); ++r) {
      HeapTuple row = SPI_tuptable->vals[r];
      Datum values[kMaxStatementColumns];
      bool nulls[kMaxStatementColumns];
      for (int i = 0; i < desc->natts && i < kMaxStatementColumns; ++i) {
        values[i] = SPI_getbinval(row, desc, i + 1, &nulls[i]);
        if (nulls[i]) continue;
        Form_pg_attribute attribute = TupleDescAttr(desc, i);
        if (r == 0) {
          MemoryContext spi_context = MemoryContextSwitchTo(caller_context);
          result.columns[i] =
              datumCopy(Inline(values[i], attribute), attribute->attbyval, attribute->attlen);
          result.nulls[i] = false;
          MemoryContextSwitchTo(spi_context);
        }
        values[i] = Inline(values[i], attribute);
      }
      // The tuplestore copies the row into its own memory.
      if (sink != nullptr) tuplestore_putvalues(sink, sink_desc, values, nulls);
    }
  }

  rc = SPI_finish();
  if (rc != SPI_OK_FINISH) elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
  return result;
}

}  // namespace

StatementResult RunStatement11(FunctionCallInfo fcinfo, Statement11 statement, Datum* args,
                               Tuplestorestate* sink, TupleDesc sink_desc) {
  const auto index = static_cast<size_t>(statement);
  SchemaPlans<kStatementCount>& entry = plan_cache.For(fcinfo);
  SPIPlanPtr* plan = &entry.plans[index];
  const std::string sql = *plan == nullptr ? SqlFor(statement, entry.quoted_name) : std::string();
  const char* sql_text = sql.c_str();
  const StatementSpec* spec = &kSpecs[index];
  return PgCall([plan, sql_text, spec, args, sink, sink_desc] {
    return Execute(plan, sql_text, *spec, args, sink, sink_desc);
  });
}

}  // namespace psycache
