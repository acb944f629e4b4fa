#!/usr/bin/env bash
# Restart A/B: starts each corral binary given, in turn, on one data directory (kill -9 of the
# previous run first), RUNS times, and prints for each run the wall time from start until
# "serving clients" in its log and the process's CPU (user + system) by then, then medians
# per binary. System time shows the kernel zeroing fresh pages, which on some virtual
# machines varies run to run more than anything corral does. Not a test; run it by hand.
#
#   CONFIG=/var/tmp/bd-run8/corral-1m/zoo.cfg RUNS=6 \
#     bash scripts/bench-restart-ab.sh /tmp/corral-old target/release/corral
#
# CONFIG: a zoo.cfg whose dataDir holds a snapshot (scripts/bench-durable.sh leaves one in
# $BENCH_DIR/corral-1m); RUNS (6); LIMIT seconds one start may take (600).
set -euo pipefail
: "${CONFIG:?set CONFIG to a zoo.cfg}"
RUNS="${RUNS:-6}"
LIMIT="${LIMIT:-600}"
[ "$#" -gt 0 ] || { echo "usage: CONFIG=zoo.cfg $0 BIN..." >&2; exit 2; }
log="$(mktemp)"
results="$(mktemp)"
trap 'kill -9 "${pid:-}" 2>/dev/null || true; rm -f "$log" "$results"' EXIT
ticks="$(getconf CLK_TCK)"
for _ in $(seq "$RUNS"); do
  for bin in "$@"; do
    t0="$(date +%s.%N)"
    "$bin" server --config "$CONFIG" >"$log" 2>&1 &
    pid=$!
    deadline=$((SECONDS + LIMIT))
    until grep -q "serving clients" "$log"; do
      if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
        echo "$bin did not start; log:" >&2; tail -5 "$log" >&2; exit 1
      fi
      sleep 0.005
    done
    t1="$(date +%s.%N)"
    read -r user sys <<<"$(awk '{print $14, $15}' "/proc/$pid/stat")"
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    line="$(python3 -c "print(f'{$t1 - $t0:.2f} {($user + $sys) / $ticks:.2f} {$user / $ticks:.2f} {$sys / $ticks:.2f}')")"
    echo "$bin $line" | tee -a "$results" | awk '{print $1 ": serving after " $2 " s, cpu " $3 " s (user " $4 ", sys " $5 ")"}'
  done
done
echo "medians:"
python3 - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    b, wall, cpu, user, sys_ = line.split()
    runs.setdefault(b, []).append((float(wall), float(cpu), float(sys_)))
for b, r in runs.items():
    med = lambda i: statistics.median(x[i] for x in r)
    print(f"{b}: serving after {med(0):.2f} s, cpu {med(1):.2f} s (sys {med(2):.2f}), {len(r)} runs")
PY
