#!/usr/bin/env bash
# Election handoff benchmark: corral against Apache ZooKeeper 3.8 (Debian's package), both on
# 127.0.0.1 with their default fsync on. Not a test: run it by hand on an otherwise idle
# machine; every step has a time limit, so the whole script ends.
#
# For K contenders in $CONTENDERS, flat (one LeaderLatch path) and partitioned
# (GroupedElection, G = ceil(sqrt(K)) groups): `corral bench --workload election` closes the
# leader's session $HANDOFFS times and measures until a successor's handle leads; corral and
# ZooKeeper alternately (A B A B ...) for $ROUNDS rounds. Prints medians and ratios.
#
# Environment: ROUNDS (3), HANDOFFS (20), CONTENDERS ("10 1000 10000"), RUN_LIMIT (900 s per
# run), BENCH_DIR (a fresh directory under /var/tmp) for data and logs.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

ROUNDS="${ROUNDS:-3}"
HANDOFFS="${HANDOFFS:-20}"
CONTENDERS="${CONTENDERS:-10 1000 10000}"
RUN_LIMIT="${RUN_LIMIT:-900}"
START_LIMIT=120

bench_workdir corral-bench-election
say_machine
echo "open files: $(ulimit -n); corral $(git rev-parse --short HEAD); data and logs in $work"

build_corral

start_both "$work"

say "election handoffs, corral and ZooKeeper alternately, $ROUNDS rounds of $HANDOFFS handoffs"
for k in $CONTENDERS; do
  g="$(python3 -c "import math; print(math.isqrt($k - 1) + 1)")" # ceil(sqrt(k))
  for groups in 0 "$g"; do
    flags=()
    [ "$groups" != 0 ] && flags=(--groups "$groups")
    for round in $(seq "$ROUNDS"); do
      for target in corral zookeeper; do
        port="$corral_port"
        [ "$target" = zookeeper ] && port="$zk_port"
        echo "-- $k contenders, groups $groups, round $round, $target (load $(cut -d' ' -f1-3 /proc/loadavg))"
        out="$(timeout -k 5 $((RUN_LIMIT + 30)) "$BENCH" bench --servers "127.0.0.1:$port" \
          --workload election --contenders "$k" "${flags[@]}" --handoffs "$HANDOFFS" \
          --duration "$RUN_LIMIT" 2>&1)" || echo "(bench exited with $?: errors or failure)"
        echo "$out"
        json="$(grep '^{' <<<"$out" || true)"
        if [ -n "$json" ]; then echo "$target $json" >>"$results"; fi
        sleep 2 # let the closed sessions go
      done
    done
  done
done
echo "RSS at the end: corral $(awk '/^VmHWM/ {print $2}' "/proc/$corral_pid/status") KiB peak, ZooKeeper $(awk '/^VmHWM/ {print $2}' "/proc/$zk_pid/status") KiB peak"
stop_both

say "medians of $ROUNDS rounds (handoff: leader's session closed -> successor leads)"
python3 - "$results" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    target, j = line.split(" ", 1)
    r = json.loads(j)
    runs.setdefault((r["contenders"], r["groups"]), {}).setdefault(target, []).append(r)
def med(rs, k):
    return statistics.median(r[k] for r in rs)
print("| contenders | shape (groups) | corral p50 / p99 / max ms | ZooKeeper p50 / p99 / max ms "
      "| p50 corral/ZK | p99 corral/ZK | set-up s corral / ZK | handoffs (both) | errors |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for (k, g), by in sorted(runs.items()):
    a, b = by.get("corral", []), by.get("zookeeper", [])
    if not a or not b:
        print(f"| {k} | {g} | (missing: corral {len(a)} runs, ZooKeeper {len(b)} runs) |")
        continue
    lat = lambda rs: " / ".join(f"{med(rs, x) / 1000:.2f}" for x in ("p50_us", "p99_us", "max_us"))
    ratio = lambda x: f"{med(a, x) / med(b, x):.2f}" if med(b, x) else "-"
    shape = "flat" if g == 0 else f"partitioned ({g})"
    errs = sum(r["errors"] for r in a + b)
    n = sum(r["handoffs"] for r in a + b)
    print(f"| {k} | {shape} | {lat(a)} | {lat(b)} | {ratio('p50_us')} | {ratio('p99_us')} "
          f"| {med(a, 'setup_s'):.1f} / {med(b, 'setup_s'):.1f} | {n} | {errs} |")
EOF
say "done; raw JSON lines in $results"
