#!/usr/bin/env python3
"""What the get backends waited for while a cleanup ran: bench/cleanup_waits.sh's analysis.

    bench/cleanup_waits.py PERF_DATA BACKENDS

PERF_DATA is a `perf sched record -a` of the load; BACKENDS holds `pid|backend_type|query`
lines of pg_stat_activity taken during it. The server runs on one CPU (bench/common.bash pins
it); for every wait of a get backend for that CPU (from its wakeup, or from its preemption,
until it runs) this counts how long each kind of process ran on the CPU meanwhile, and who
woke the get backends. Latency percentiles blur with whatever else the machine runs; these
counts name what the gets waited for.
"""
import collections
import re
import subprocess
import sys

SERVER_CPU = 1  # bench/common.bash's SERVER_CPU

LINE = re.compile(r'\s*(\S.*?)\s+(\d+) \[(\d+)\] (\d+\.\d+):\s+(\S+):')
SWITCH = re.compile(r'prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+)')
WAKING = re.compile(r' pid=(\d+) ')


def read_backends(path):
    kinds = {}
    with open(path) as lines:
        for line in lines:
            fields = line.rstrip('\n').split('|')
            if len(fields) < 3:
                continue
            pid, backend_type, query = fields[0], fields[1], fields[2]
            if 'psycache_get' in query:
                kinds[pid] = 'get'
            elif 'psycache_put' in query:
                kinds[pid] = 'put'
            elif backend_type == 'psycache cleanup':
                kinds[pid] = 'worker'
            elif backend_type != 'client backend':
                kinds[pid] = 'server'  # walwriter, background writer, checkpointer, launchers
    return kinds


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: cleanup_waits.py PERF_DATA BACKENDS')
    kinds = read_backends(sys.argv[2])
    if 'get' not in kinds.values():
        sys.exit(f'{sys.argv[2]} names no backend running psycache_get')
    script = subprocess.run(['perf', 'script', '-i', sys.argv[1]], capture_output=True, text=True,
                            check=True).stdout

    def kind(pid, comm):
        if comm.startswith('swapper'):
            return 'idle'
        return kinds.get(pid, 'other')  # not the server's: the machine's other work

    ran = collections.defaultdict(float)  # seconds on the server's CPU, per kind
    current, since = None, 0.0

    def ran_until(now):
        totals = dict(ran)
        if current:
            totals[current] = totals.get(current, 0.0) + now - since
        return totals

    waiting = {}  # get pid -> (start of its wait, ran_until at that start)
    waits = []  # (length, {kind: seconds on the CPU during it})
    wakers = collections.Counter()
    for line in script.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        comm, pid, cpu, now, event = (match.group(1), match.group(2), int(match.group(3)),
                                      float(match.group(4)), match.group(5))
        if event == 'sched:sched_waking':
            woken = WAKING.search(line)
            if woken and kinds.get(woken.group(1)) == 'get':
                wakers[kinds.get(pid, comm)] += 1
                waiting.setdefault(woken.group(1), (now, ran_until(now)))
        elif event == 'sched:sched_switch':
            switch = SWITCH.search(line)
            if not switch:
                continue
            prev, state, next_comm, next_pid = switch.groups()
            if cpu == SERVER_CPU:
                if current:
                    ran[current] += now - since
                current, since = kind(next_pid, next_comm.strip()), now
            if kinds.get(prev) == 'get' and state.startswith('R'):
                waiting[prev] = (now, ran_until(now))  # preempted: it waits again
            if kinds.get(next_pid) == 'get' and next_pid in waiting:
                start, before = waiting.pop(next_pid)
                after = ran_until(now)
                waits.append((now - start, {k: after[k] - before.get(k, 0.0) for k in after}))

    if not waits:
        sys.exit('no wait of a get backend in the record')
    print('server CPU, ms per kind:',
          ', '.join(f'{k} {v * 1000:.0f}' for k, v in sorted(ran.items(), key=lambda x: -x[1])))
    print('get backends woken by:', ', '.join(f'{k} {n}' for k, n in wakers.most_common()))
    lengths = sorted(w[0] for w in waits)
    print(f'{len(waits)} waits of get backends for the CPU: p50 {lengths[len(lengths) // 2] * 1e6:.0f}'
          f' us, p99 {lengths[int(0.99 * (len(lengths) - 1))] * 1e6:.0f} us')
    print('| ran meanwhile | total ms | waits with > 0.5 ms of it | > 1 ms | longest ms |')
    print('|---|--:|--:|--:|--:|')
    for k in ('get', 'put', 'worker', 'server', 'other', 'idle'):
        spent = [w[1].get(k, 0.0) for w in waits]
        over_half = sum(1 for s in spent if s > 0.0005)
        over_one = sum(1 for s in spent if s > 0.001)
        print(f'| {k} | {sum(spent) * 1000:.0f} | {over_half} ({100 * over_half / len(waits):.2f}%)'
              f' | {over_one} ({100 * over_one / len(waits):.2f}%) | {max(spent) * 1000:.2f} |')


if __name__ == '__main__':
    main()
