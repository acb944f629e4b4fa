#!/usr/bin/env bash
# Durable-write benchmark: corral against Apache ZooKeeper 3.8 (Debian's package), both with
# fsync on, on 127.0.0.1, data directories side by side on one disk. Not a test: run it by hand
# on an otherwise idle machine; every step has a time limit, so the whole script ends.
#
# 1. create and set at 1 session (depth 1), 16 sessions (depth 16) and 64 sessions (depth 8:
#    512 in flight, below ZooKeeper's default globalOutstandingLimit of 1000, past which it
#    stops reading from clients), each alternately on corral and ZooKeeper (A B A B ...) for
#    $ROUNDS rounds; prints medians and corral/ZooKeeper ratios.
# 2. On fresh servers with snapCount=$SNAP_COUNT: $POPULATE znodes of 100 bytes, created as
#    multis of 100 (one logged txn and one fsync per 100 znodes), then RSS (VmRSS), snapshot size
#    on disk, and restart time (kill -9, start, until the first getData succeeds), then RSS.
#
# Environment: ROUNDS (3), DURATION (10 s), WARMUP (2 s), POPULATE (1000000), SNAP_COUNT (2000:
# with 100 creates per txn, a snapshot every ~200,000 znodes on both servers), SKIP_ZK_RESTART=1
# to skip part 2 for ZooKeeper, SKIP_PART1=1 to run part 2 only, BENCH_DIR (a fresh directory
# under /var/tmp) for data and logs.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
POPULATE="${POPULATE:-1000000}"
SNAP_COUNT="${SNAP_COUNT:-2000}"
START_LIMIT=600        # seconds a (re)start may take, 1M znodes included

bench_workdir corral-bench

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# bench TARGET PORT ARGS...: one run; its JSON line goes to $results tagged with TARGET.
bench() {
  local target="$1" port="$2"
  shift 2
  local out
  out="$(timeout -k 5 $((WARMUP + DURATION + 180)) "$BENCH" bench --servers "127.0.0.1:$port" \
    "$@" 2>&1)" || echo "(bench exited with $?: errors or failure, see above)"
  echo "$out"
  local json
  json="$(grep '^{' <<<"$out" || true)"
  if [ -n "$json" ]; then echo "$target $json" >>"$results"; fi
}

say_machine
df -h "$work" | tail -1
echo "corral $(git rev-parse --short HEAD); data and logs in $work"

build_corral

if [ "${SKIP_PART1:-0}" != 1 ]; then
say "part 1: create and set, corral and ZooKeeper alternately, $ROUNDS rounds"
start_both "$work"
for workload in create set; do
  for shape in "1 1" "16 16" "64 8"; do
    read -r clients depth <<<"$shape"
    for round in $(seq "$ROUNDS"); do
      for target in corral zookeeper; do
        port="$corral_port"
        [ "$target" = zookeeper ] && port="$zk_port"
        echo "-- $workload, $clients x $depth, round $round, $target (load $(cut -d' ' -f1-3 /proc/loadavg))"
        bench "$target" "$port" --workload "$workload" --clients "$clients" --depth "$depth" \
          --duration "$DURATION" --warmup "$WARMUP"
      done
    done
  done
done
stop_both

say "medians of $ROUNDS rounds"
python3 - "$results" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    target, j = line.split(" ", 1)
    r = json.loads(j)
    runs.setdefault((r["workload"], r["clients"], r["depth"]), {}).setdefault(target, []).append(r)
def med(rs, k):
    return statistics.median(r[k] for r in rs)
print("| workload | clients x depth | corral ops/s | ZooKeeper ops/s | ops/s ratio "
      "| corral p50 / p99 / p99.9 ms | ZooKeeper p50 / p99 / p99.9 ms | p99 ratio | errors |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for (w, c, d), by in runs.items():
    a, b = by.get("corral", []), by.get("zookeeper", [])
    if not a or not b:
        continue
    lat = lambda rs: " / ".join(f"{med(rs, k) / 1000:.2f}" for k in ("p50_us", "p99_us", "p999_us"))
    errs = sum(r["errors"] for r in a + b)
    print(f"| {w} | {c} x {d} | {med(a, 'ops_per_s'):.0f} | {med(b, 'ops_per_s'):.0f} "
          f"| {med(a, 'ops_per_s') / med(b, 'ops_per_s'):.2f} | {lat(a)} | {lat(b)} "
          f"| {med(a, 'p99_us') / med(b, 'p99_us'):.2f} | {errs} |")
EOF
fi

# populate_and_restart KIND: fresh server, $POPULATE znodes, RSS, disk, kill -9, restart time.
populate_and_restart() {
  local kind="$1" dir="$work/$1-1m" port
  port="$(free_port)"
  say "part 2: $kind with $POPULATE znodes of 100 bytes"
  start_server "$kind" "$dir" "$port" "snapCount=$SNAP_COUNT"
  wait_read "$port" "$START_LIMIT"
  local began=$SECONDS
  bench "$kind-populate" "$port" --workload create --batch 100 --ops $((POPULATE / 100)) \
    --clients 4 --depth 8 --value-size 100 --warmup 0 --duration 1800
  echo "populated in $((SECONDS - began)) s; letting snapshots finish"
  sleep 15
  echo "$kind RSS after populating: $(rss_kib "$server_pid") KiB (VmHWM $(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status") KiB)"
  if [ "$kind" = corral ]; then
    echo "snapshots: $(du -sh "$dir/data/snapshots" | cut -f1) ($(ls "$dir/data/snapshots" | wc -l) files; newest $(ls -s --block-size=K "$dir/data/snapshots" | sort -k2 | tail -1))"
    echo "log: $(du -sh "$dir/data/log" | cut -f1)"
  else
    echo "snapshots: $(du -ch "$dir"/data/version-2/snapshot.* | tail -1 | cut -f1) ($(ls "$dir"/data/version-2/snapshot.* | wc -l) files; newest $(ls -s --block-size=K -t "$dir"/data/version-2/snapshot.* | head -1))"
    echo "log: $(du -ch "$dir"/data/version-2/log.* | tail -1 | cut -f1)"
  fi
  for attempt in 1 2 3; do
    kill -9 "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    local t0 t1
    t0="$(date +%s.%N)"
    start_server "$kind" "$dir" "$port"
    wait_read "$port" "$START_LIMIT"
    t1="$(date +%s.%N)"
    echo "$kind restart $attempt (kill -9, start, first read): $(python3 -c "print(f'{$t1 - $t0:.2f}')") s"
    sleep 5
    echo "$kind RSS after restart $attempt: $(rss_kib "$server_pid") KiB"
  done
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
}

populate_and_restart corral
if [ "${SKIP_ZK_RESTART:-0}" != 1 ]; then
  populate_and_restart zookeeper
fi
echo "corral's log lines about snapshots and recovery:"
grep -hE 'snapshot written|recovered in|recover' "$work"/corral-1m/server.log | tail -30 || true
say "done; raw JSON lines in $results"
