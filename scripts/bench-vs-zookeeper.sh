#!/usr/bin/env bash
# corral against Apache ZooKeeper 3.8 (Debian's package), side by side on 127.0.0.1, fsync on
# for both, standalone and as 3-member ensembles: every workload of `corral bench` run
# alternately on each (A B A B, $ROUNDS rounds), then a table of medians and corral/ZooKeeper
# ratios and the targets of docs/benchmarks.md. Not a test: run it by hand on a machine as idle
# as you can get; every run has a time limit, so the whole script ends.
#
# Environment: ROUNDS (3), DURATION (10 s measured per run), WARMUP (2 s), MODES
# (standalone,ensemble), CASES (comma-separated case names of scripts/bench_compare.py; default
# all), BENCH (the corral binary; unset: build it), BENCH_DIR (a fresh directory under
# /var/tmp) for data, logs and results.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

bench_workdir corral-bench-vs-zk
say_machine
echo "corral $(git rev-parse --short HEAD); data and logs in $work; load $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "${BENCH:-}" ] || build_corral
# A copy, so that a build during the run does not change the binary under test midway.
cp "$BENCH" "$work/corral"
timeout -k 10 14400 python3 scripts/bench_compare.py --bench "$work/corral" --dir "$work" \
  --rounds "${ROUNDS:-3}" --duration "${DURATION:-10}" --warmup "${WARMUP:-2}" \
  --modes "${MODES:-standalone,ensemble}" --cases "${CASES:-}"
say "done; JSON lines in $work/results.jsonl"
