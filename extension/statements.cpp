#include "statements.hpp"

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

// Parameters of each statement, in the order of enum Statement.
const StatementSpec kSpecs[kStatementCount] = {
    {1, {TEXTOID}},                            // get: key
    {3, {TEXTOID, JSONBOID, TIMESTAMPTZOID}},  // put: key, value, expires_at
    {1, {TEXTOID}},                            // remove: key
    {2, {INT4OID, TIMESTAMPTZOID}},            // cleanup batch: batch size, resume from
    {0, {}},                                   // flush
    {0, {}},                                   // stats
    {3, {TEXTOID, JSONBOID, TIMESTAMPTZOID}},  // put, returning the size: key, value, expires_at
};

// The SQL of statement for the cache table in schema (already quoted). Every function and
// operator is qualified with pg_catalog, so that nothing resolves through the search_path.
std::string SqlFor(Statement statement, const std::string& schema) {
  const std::string table = schema + ".psycache";
  const std::string live = "c.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp()";
  switch (statement) {
    case Statement::kGet:
      return "SELECT c.value, pg_catalog.pg_column_size(c.value) FROM " + table +
             " AS c WHERE c.key OPERATOR(pg_catalog.=) $1 AND " + live;
    case Statement::kPut:
    case Statement::kPutReturning: {
      // One row processed. kPut leaves the stored size to psycache_put (stored_size.hpp); for a
      // value column that is not jsonb, kPutReturning returns it, as the conversion stored it.
      const std::string put = "INSERT INTO " + table +
                              " AS c (key, value, expires_at) VALUES ($1, $2, $3)"
                              " ON CONFLICT (key) DO UPDATE"
                              " SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at";
      if (statement == Statement::kPut) return put;
      return put + " RETURNING pg_catalog.pg_column_size(c.value)";
    }
    case Statement::kRemove:
      // An expired entry is deleted too, but only a live one counts as removed.
      return "DELETE FROM " + table + " AS c WHERE c.key OPERATOR(pg_catalog.=) $1 RETURNING " +
             live;
    case Statement::kCleanupBatch: {
      const char* table_name = table.c_str();
      return PgCall([table_name] { return CleanupBatchSql(table_name); });
    }
    case Statement::kFlush:
      return "DELETE FROM " + table;
    case Statement::kStats: {
      // The regclass literal names the table as the SQL does, so it follows a schema rename too.
      const char* table_name = table.c_str();
      const char* literal = PgCall([table_name] { return quote_literal_cstr(table_name); });
      return "SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE c.expires_at "
             "OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()), "
             "pg_catalog.pg_total_relation_size(" +
             std::string(literal) + "::pg_catalog.regclass) FROM " + table + " AS c";
    }
  }
  throw Error(ERRCODE_INTERNAL_ERROR, "unknown psycache statement");
}

// Backend-lifetime plans, per cache schema.
SchemaPlanCache<kStatementCount> plan_cache;

// Copies datum out of SPI's memory into context. A value stored out of line (TOAST) is fetched
// now, so that the result holds the value itself rather than a pointer into the table.
Datum CopyOut(Datum datum, Form_pg_attribute attribute, MemoryContext context) {
  MemoryContext spi_context = MemoryContextSwitchTo(context);
  if (attribute->attlen == -1 && VARATT_IS_EXTERNAL(DatumGetPointer(datum))) {
    datum =
        PointerGetDatum(detoast_external_attr(reinterpret_cast<varlena*>(DatumGetPointer(datum))));
  } else {
    datum = datumCopy(datum, attribute->attbyval, attribute->attlen);
  }
  MemoryContextSwitchTo(spi_context);
  return datum;
}

// Prepares (once) and runs a statement: plain PostgreSQL calls only, made through PgCall. On an
// error the SPI connection is left open: the transaction (or subtransaction) abort that follows
// the re-raised error closes it.
StatementResult Execute(SPIPlanPtr* plan, const char* sql, const StatementSpec& spec, Datum* args) {
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
    HeapTuple row = SPI_tuptable->vals[0];
    for (int i = 0; i < desc->natts && i < kMaxStatementColumns; ++i) {
      Datum datum = SPI_getbinval(row, desc, i + 1, &result.nulls[i]);
      if (!result.nulls[i])
        result.columns[i] = CopyOut(datum, TupleDescAttr(desc, i), caller_context);
    }
  }

  rc = SPI_finish();
  if (rc != SPI_OK_FINISH) elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
  return result;
}

}  // namespace

char* CleanupBatchSql(const char* table) {
  // The sub-select locks the batch, then the DELETE takes exactly those rows by their ctid (a TID
  // scan), checking the expiry once more. ORDER BY and the resume point let each batch start where
  // the one before ended, instead of walking again over the index entries of rows already deleted.
  // The sub-select is an ARRAY() rather than a CTE: it runs once all the same, and its ctids go
  // straight into the array instead of through a tuplestore.
  return psprintf(
      "WITH gone AS ("
      "DELETE FROM %s AS c"
      " WHERE c.ctid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT e.ctid FROM %s AS e"
      " WHERE e.expires_at OPERATOR(pg_catalog.>=) $2"
      " AND e.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()"
      " ORDER BY e.expires_at LIMIT $1 FOR UPDATE OF e SKIP LOCKED))"
      " AND c.expires_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()"
      " RETURNING c.expires_at) "
      "SELECT pg_catalog.count(*), pg_catalog.max(g.expires_at) FROM gone AS g",
      table, table);
}

StatementResult RunStatement(FunctionCallInfo fcinfo, Statement statement, Datum* args) {
  const auto index = static_cast<size_t>(statement);
  SchemaPlans<kStatementCount>& entry = plan_cache.For(fcinfo);
  SPIPlanPtr* plan = &entry.plans[index];
  const std::string sql = *plan == nullptr ? SqlFor(statement, entry.quoted_name) : std::string();
  const char* sql_text = sql.c_str();
  const StatementSpec* spec = &kSpecs[index];
  return PgCall([plan, sql_text, spec, args] { return Execute(plan, sql_text, *spec, args); });
}

}  // namespace psycache
