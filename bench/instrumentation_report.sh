#!/usr/bin/env bash
# The table of the instrumentation comparison (bench.sh instrumentation_bench).
#
#   bench/instrumentation_report.sh ROUNDS_CSV OUT_MD "SETUP"
#
# ROUNDS_CSV: operation,threads,round,instrumentation,ops_per_s,p50_us,p99_us,user_us_per_op,
# sentry; every round holds bare, prometheus and all, run one after the other. A round's ratio is
# the configuration's ops/s over bare's ops/s of the same round; the table gives the median of
# those ratios and their range over the rounds. The target (within 5% of bare) is met when the
# median ratio is 0.95 or more and the middle half of the ratios (their interquartile range)
# spans no more than 0.05; NOT met when three rounds in four are below 0.95; otherwise NOT met,
# too noisy to show: a median above 0.95 from rounds that scatter by tens of percent on a busy
# machine shows nothing. The bare rounds' own spread is there too: a ratio that moves less than
# it is the instrumentation, more is the machine.
set -euo pipefail

ROUNDS_CSV="${1:?usage: instrumentation_report.sh ROUNDS_CSV OUT_MD SETUP}"
OUT="${2:?usage: instrumentation_report.sh ROUNDS_CSV OUT_MD SETUP}"
SETUP="${3:-}"

awk -F, -v setup="$SETUP" '
  function median(list,    v, n, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) {  # insertion sort: a handful of values
      t = v[i] + 0
      for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
      v[j + 1] = t
    }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  function lowest(list,    v, n, i, m) {
    n = split(list, v, " "); m = v[1] + 0
    for (i = 2; i <= n; i++) if (v[i] + 0 < m) m = v[i] + 0
    return m
  }
  # Sets Q1 and Q3: the values a quarter and three quarters of the way up the sorted list.
  function quartiles(list,    v, n, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) {
      t = v[i] + 0
      for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
      v[j + 1] = t
    }
    Q1 = v[int((n - 1) / 4) + 1] + 0
    Q3 = v[n - int((n - 1) / 4)] + 0
  }
  function highest(list,    v, n, i, m) {
    n = split(list, v, " "); m = v[1] + 0
    for (i = 2; i <= n; i++) if (v[i] + 0 > m) m = v[i] + 0
    return m
  }
  NR == 1 { next }
  {
    group = $1 SUBSEP $2
    if (!(group in seen)) { seen[group] = 1; groups[++count] = group; op[group] = $1; th[group] = $2 }
    ops[group, $3, $4] = $5
    rounds[group] = rounds[group] < $3 ? $3 : rounds[group]
    all_ops[group, $4] = all_ops[group, $4] " " $5
    user[group, $4] = user[group, $4] " " $8
    if ($4 == "all") sentry = $9
  }
  END {
    if (setup != "") print setup "\n"
    print "Instrumentation overhead: ops/s with the instrumentations against the bare client in the"
    print "same round (one process per row: the same threads, connections and CPU; each round runs"
    print "bare, prometheus and all one after the other, starting one later each round). Target:"
    print "within 5% of bare: met when the median ratio is 0.95 or more and the middle half of the"
    print "ratios (their interquartile range, IQR) spans no more than 0.05; NOT met when three rounds"
    print "in four are below 0.95; otherwise NOT met, too noisy to show."
    print ""
    if (sentry == "on") {
      print "all = Prometheus + a counting instrumentation of the application'"'"'s own + Sentry"
      print "(sentry-native, every transaction sampled, one transaction per 10 operations, envelopes"
      print "dropped by the transport)."
    } else {
      print "all = Prometheus + a counting instrumentation of the application'"'"'s own. **Sentry"
      print "SKIPPED**: sentry-native was not found when CMake ran, so psycache_sentry was not built."
    }
    print ""
    print "| operation | threads | instrumentations | rounds | median ops/s | bare median ops/s | median ratio to bare | ratio range over rounds | bare rounds spread | client CPU µs/op vs bare | 5% target |"
    print "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|---|"
    met = 0; total = 0
    for (g = 1; g <= count; g++) {
      group = groups[g]
      bare_median = median(all_ops[group, "bare"])
      spread = bare_median > 0 ? \
        100 * (highest(all_ops[group, "bare"]) - lowest(all_ops[group, "bare"])) / (2 * bare_median) : 0
      split("prometheus all", configs, " ")
      for (c = 1; c <= 2; c++) {
        config = configs[c]
        ratios = ""; n = 0
        for (r = 1; r <= rounds[group]; r++) {
          if ((group, r, "bare") in ops && (group, r, config) in ops && ops[group, r, "bare"] > 0) {
            ratios = ratios " " ops[group, r, config] / ops[group, r, "bare"]; n++
          }
        }
        if (n == 0) continue
        ratio = median(ratios)
        total++
        quartiles(ratios)
        if (ratio >= 0.95 && Q3 - Q1 <= 0.05) {
          verdict = "met"; met++
        } else if (Q3 < 0.95) {
          verdict = "**NOT met**"
        } else {
          verdict = sprintf("**NOT met** (too noisy to show: IQR %.3f)", Q3 - Q1)
        }
        cpu = median(user[group, config]) - median(user[group, "bare"])
        printf "| %s | %s | %s | %d | %.0f | %.0f | %.3fx | %.3f-%.3f | ±%.1f%% | %+.2f | %s |\n",
          op[group], th[group], config == "all" ? "all" : "Prometheus", n,
          median(all_ops[group, config]), bare_median, ratio, lowest(ratios), highest(ratios),
          spread, cpu, verdict
      }
    }
    print ""
    printf "5%% target met in %d of %d rows.", met, total
    print " Bare rounds spread: half the range of the bare rounds'"'"' ops/s over their median; client CPU:"
    print "the difference of the median user CPU time per operation of the bench process."
  }' "$ROUNDS_CSV" >"$OUT"
