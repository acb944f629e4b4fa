#!/usr/bin/env bash
# Leader failover benchmark: a 3-member corral ensemble against a 3-member Apache ZooKeeper 3.8
# ensemble (Debian's package), each member with its own zoo.cfg, dataDir and myid on
# 127.0.0.1, fsync on (corral's default; ZooKeeper -Dzookeeper.forceSync=yes -Xmx4g as in
# bench-lib.sh), tickTime=2000, initLimit=10, syncLimit=5. Not a test: run it by hand on an
# otherwise idle machine; every step has a time limit, so the whole script ends.
#
# For each kind in turn (corral's ensemble, stopped, then ZooKeeper's): a writer connected to
# the two followers sends setData continuously (one request outstanding, its session resumed
# on reconnect); each round SIGKILLs the leader and measures from the kill to the first write
# sent after it that is acknowledged; then the killed member is started again and the next
# round waits until the ensemble is whole and converged (one leader, two followers, the same
# Zxid on all). scripts/bench_failover.py does the rounds. Prints the rounds, the medians, the
# ratio corral/ZooKeeper and a Markdown table fragment for docs/benchmarks.md.
#
# Environment: ROUNDS (7, at least 5), WARMUP (5 s of writes before round 1), BENCH (the corral
# binary; unset: `cargo build --release` and target/release/corral), SKIP_CORRAL=1 or
# SKIP_ZK=1 (one kind only; no ratio), ROUND_LIMIT (60 s from a kill to the first
# acknowledged write), START_LIMIT (120 s for an ensemble to be whole), TRACE=1 (print the
# writer's every connection attempt and reply after each kill, with times since the kill),
# BENCH_DIR (a fresh directory under /var/tmp) for data and logs.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

ROUNDS="${ROUNDS:-7}"
WARMUP="${WARMUP:-5}"
ROUND_LIMIT="${ROUND_LIMIT:-60}"
START_LIMIT="${START_LIMIT:-120}"
SKIP_CORRAL="${SKIP_CORRAL:-0}"
SKIP_ZK="${SKIP_ZK:-0}"
trace=()
[ "${TRACE:-0}" = 1 ] && trace=(--trace)
if ((ROUNDS < 5)); then
  echo "ROUNDS=$ROUNDS: at least 5 rounds, or the median says little" >&2
  exit 2
fi

bench_workdir corral-bench-failover
say_machine
echo "corral $(git rev-parse --short HEAD); data and logs in $work"
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"

kinds=()
if [ "$SKIP_CORRAL" != 1 ]; then
  [ -n "${BENCH:-}" ] || build_corral
  echo "corral binary: $BENCH"
  kinds+=(corral)
fi
[ "$SKIP_ZK" != 1 ] && kinds+=(zookeeper)

# A run's limit: every round's wait for the ensemble, the warm-up and the failover.
run_limit=$(((ROUNDS + 2) * (START_LIMIT + ROUND_LIMIT + 5) + WARMUP))
for kind in "${kinds[@]}"; do
  say "$kind: 3 members, $ROUNDS rounds of SIGKILL the leader -> first acknowledged write"
  out="$work/$kind.out"
  status=0
  timeout -k 10 "$run_limit" python3 scripts/bench_failover.py --kind "$kind" \
    --bench "${BENCH:-none}" --rounds "$ROUNDS" --warmup "$WARMUP" --dir "$work/$kind" \
    --round-limit "$ROUND_LIMIT" --start-limit "$START_LIMIT" "${trace[@]}" 2>&1 | tee "$out" ||
    status=$?
  ((status == 0)) ||
    echo "($kind: bench_failover.py exited with $status; logs in $work/$kind/member-N/server.log)"
  grep '^{' "$out" >>"$results" || true
done

say "medians of $ROUNDS rounds (SIGKILL of the leader -> first write acknowledged after it)"
python3 - "$results" "$ROUNDS" <<'EOF'
import json, sys
runs = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    runs[r["kind"]] = r
rounds = sys.argv[2]
a, b = runs.get("corral"), runs.get("zookeeper")
for k, r in runs.items():
    ms = ", ".join(f"{t:.0f}" for t in r["rounds"])
    print(f"{k}: rounds {ms} ms; median {r['median_ms']:.0f} ms")
ratio = f"{a['median_ms'] / b['median_ms']:.2f}" if a and b and b["median_ms"] else "-"
print(f"ratio corral/ZooKeeper: {ratio}")
cell = lambda r: f"{r['median_ms']:.0f}" if r else "(not run)"
spread = lambda r: ", ".join(f"{t:.0f}" for t in r["rounds"]) if r else "-"
print()
print("Markdown fragment for docs/benchmarks.md:")
print()
print("| 3-member ensemble, fsync on | corral | ZooKeeper | corral/ZK |")
print("|---|---:|---:|---:|")
print(f"| SIGKILL of the leader to the first acknowledged write, median of {rounds} rounds (ms) "
      f"| {cell(a)} | {cell(b)} | {ratio} |")
print(f"| the rounds (ms) | {spread(a)} | {spread(b)} | |")
EOF
say "done; JSON lines in $results"
