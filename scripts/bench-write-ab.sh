#!/usr/bin/env bash
# Write-path A/B of corral binaries: for each round and each binary given, a fresh standalone
# server, `create 64x16` for DURATION s (the tree grows past a million znodes), then
# `set 64x16` for DURATION s over that tree; prints ops/s and p99 of both, p99.9 of the set,
# the snapshots the server wrote during the set (ms each) and its CPU seconds. Snapshots
# fall due every 50,000-100,000 writes here, so this is the view of what they cost the
# requests. Not a test; run it by hand, nothing else running.
#
#   ROUNDS=3 bash scripts/bench-write-ab.sh /tmp/corral-old target/release/corral
#
# ROUNDS (3), DURATION (10), SNAPCOUNT (zoo.cfg snapCount, 100000), BENCH (the bench client:
# target/release/corral), BENCH_DIR (the server's directory, emptied before each run).
set -euo pipefail
source scripts/bench-lib.sh
[ "$#" -gt 0 ] || { echo "usage: $0 BIN..." >&2; exit 2; }
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
BENCH="${BENCH:-$(pwd)/target/release/corral}"
dir="${BENCH_DIR:-/var/tmp/bench-write-ab}"
trap 'kill -9 "${pid:-}" 2>/dev/null || true' EXIT

bench() { # WORKLOAD PORT: the bench's JSON line
  timeout -k 5 $((DURATION + 120)) "$BENCH" bench --servers "127.0.0.1:$2" --workload "$1" \
    --clients 64 --depth 16 --duration "$DURATION" --warmup 2 | grep '^{'
}

for _ in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    rm -rf "$dir" && mkdir -p "$dir"
    port="$(free_port)"
    printf 'tickTime=2000\ndataDir=%s/data\nclientPort=%s\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\nsnapCount=%s\n' \
      "$dir" "$port" "${SNAPCOUNT:-100000}" >"$dir/zoo.cfg"
    RUST_LOG=info "$bin" server --config "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
    pid=$!
    wait_read "$port" 60
    create="$(bench create "$port")"
    mark="$(wc -l <"$dir/server.log")"
    set_="$(bench set "$port")"
    snaps="$(tail -n +"$mark" "$dir/server.log" | grep -o 'snapshot written in [0-9.]*m\?s' |
      awk '{print $4}' | tr '\n' ' ')"
    cpu="$(awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$pid/stat")"
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    python3 - "$bin" "$create" "$set_" "$snaps" "$cpu" <<'PY'
import json, sys
b, c, s, snaps, cpu = sys.argv[1:]
c, s = json.loads(c), json.loads(s)
print(f"{b}: create {c['ops_per_s']:.0f} ops/s p99 {c['p99_us'] / 1000:.1f} ms | set "
      f"{s['ops_per_s']:.0f} ops/s p99 {s['p99_us'] / 1000:.1f} p99.9 {s['p999_us'] / 1000:.1f} ms"
      f" | cpu {cpu} s | snapshots {snaps}")
PY
  done
done
