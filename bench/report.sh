#!/usr/bin/env bash
# The table and the chart of a bench run.
#
#   bench/report.sh ROUNDS_CSV RESULTS_DIR "SETUP"
#
# ROUNDS_CSV has one line per measurement: row,operation,concurrency,round,ops_per_s,p50_us,
# p99_us. Writes to RESULTS_DIR:
#   latest.csv      the medians over the rounds, with the ratio to pgbench raw SQL: the median
#                   of the rounds' ratios, each row against the baseline of the same round (rows
#                   of one round run seconds apart; rounds apart, the machine may differ)
#   latest.md       the same as a markdown table, under the SETUP line
#   throughput.png  ops/s per operation and concurrency, one bar per contender (gnuplot)
set -euo pipefail

ROUNDS_CSV="${1:?usage: report.sh ROUNDS_CSV RESULTS_DIR SETUP}"
RESULTS="${2:?usage: report.sh ROUNDS_CSV RESULTS_DIR SETUP}"
SETUP="${3:-}"
BASELINE="pgbench raw SQL"

# Medians per (row, operation, concurrency), in the order the rows first ran, with the median
# over the rounds of the ratio of ops/s to the baseline's at the same operation, concurrency and
# round.
awk -F, -v baseline="$BASELINE" '
  function median(list,    v, n, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) {  # insertion sort: a handful of values
      t = v[i] + 0
      for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
      v[j + 1] = t
    }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  NR == 1 { next }
  {
    key = $1 SUBSEP $2 SUBSEP $3
    if (!(key in ops)) { order[++count] = key; row[key] = $1; op[key] = $2; conc[key] = $3 }
    ops[key] = ops[key] " " $5; p50[key] = p50[key] " " $6; p99[key] = p99[key] " " $7
    rounds[key] = rounds[key] " " $4; in_round[key SUBSEP $4] = $5
    if ($1 == baseline) base_in_round[$2 SUBSEP $3 SUBSEP $4] = $5
  }
  END {
    print "row,operation,concurrency,ops_per_s,p50_us,p99_us,ratio_to_pgbench_raw_sql"
    for (i = 1; i <= count; i++) {
      k = order[i]
      ratios = ""
      n = split(rounds[k], r, " ")
      for (j = 1; j <= n; j++) {
        b = base_in_round[op[k] SUBSEP conc[k] SUBSEP r[j]]
        if (b > 0) ratios = ratios " " in_round[k SUBSEP r[j]] / b
      }
      ratio = ratios == "" ? "" : sprintf("%.2f", median(ratios))
      printf "%s,%s,%s,%.0f,%.1f,%.1f,%s\n", row[k], op[k], conc[k], median(ops[k]),
        median(p50[k]), median(p99[k]), ratio
    }
  }' "$ROUNDS_CSV" >"$RESULTS/latest.csv"

# The markdown table.
{
  [[ -n "$SETUP" ]] && printf '%s\n\n' "$SETUP"
  echo "| operation | row | threads / clients | ops/s | p50 µs | p99 µs | vs pgbench raw SQL |"
  echo "|---|---|--:|--:|--:|--:|--:|"
  awk -F, '
    function thousands(n,    s) {
      s = sprintf("%d", n)
      while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
      return s
    }
    NR > 1 {
      ratio = $7 == "" ? "" : $7 "x"
      if ($1 == "pgbench raw SQL") { ratio = "**1.00x**" }
      printf "| %s | %s | %s | %s | %s | %s | %s |\n", $2, $1, $3, thousands($4), $5, $6, ratio
    }' "$RESULTS/latest.csv"
} >"$RESULTS/latest.md"

# The chart: one cluster of bars per operation and concurrency, one bar per contender.
data="$(mktemp)"
trap 'rm -f "$data"' EXIT
awk -F, '
  function series(name) {
    if (name == "psycache client") return 1
    if (name == "libpqxx raw SQL") return 2
    if (name == "pgbench raw SQL") return 3
    if (name ~ /^pgbench psycache_/) return 4
    if (name ~ /^redis-benchmark/) return 5
    if (name ~ /^psycache async/) return 6
    return 0
  }
  NR > 1 && series($1) {
    group = $2 ", " $3
    if (!(group in seen)) { seen[group] = 1; groups[++count] = group }
    value[group, series($1)] = $4 / 1000
  }
  END {
    for (g = 1; g <= count; g++) {
      line = "\"" groups[g] "\""
      for (s = 1; s <= 6; s++) line = line "\t" ((groups[g], s) in value ? value[groups[g], s] : "NaN")
      print line
    }
  }' "$RESULTS/latest.csv" >"$data"

gnuplot <<GNUPLOT
set terminal pngcairo size 1100,600 font "sans,10"
set output "$RESULTS/throughput.png"
set termoption noenhanced
set title "psycache: operations per second (higher is better)\n$SETUP"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set datafile separator "\t"
set ylabel "thousands of operations per second"
set xlabel "operation, threads (psycache, libpqxx) or clients (pgbench, redis-benchmark)"
set yrange [0:*]
set grid ytics
set key outside top center horizontal maxrows 2
plot "$data" using 2:xtic(1) title "psycache client" lc rgb "#1f77b4", \
     '' using 3 title "libpqxx, raw SQL" lc rgb "#aec7e8", \
     '' using 4 title "pgbench, raw SQL (baseline)" lc rgb "#7f7f7f", \
     '' using 5 title "pgbench, psycache_get()/psycache_put()" lc rgb "#2ca02c", \
     '' using 6 title "redis-benchmark GET/SET" lc rgb "#d62728", \
     '' using 7 title "psycache async (1 thread, pipelined)" lc rgb "#9467bd"
GNUPLOT
