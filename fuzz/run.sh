#!/usr/bin/env bash
# Fuzzes corral's wire decoders for SECONDS in all (default 60), split evenly between the
# targets in fuzz/fuzz_targets, starting from corpora seeded with ZooKeeper 3.8's golden bytes.
# Exits non-zero on any crash (panic, sanitizer report, or an allocation over
# MALLOC_LIMIT_MB), after printing the reproducer's path and the command that replays it.
#
#   bash fuzz/run.sh 60
#
# Installs cargo-fuzz (pinned) if missing. cargo-fuzz passes nightly-only `-Z` flags to
# rustc; the machine has only a stable toolchain, so RUSTC_BOOTSTRAP=1 lets stable accept them.
set -euo pipefail
cd "$(dirname "$0")"

TOTAL_SECONDS=${1:-60}
CARGO_FUZZ_VERSION=0.13.2
TARGETS=(frame_and_request records)
# No input of a few KiB justifies more: a decoder that allocates from an unchecked length
# trips this long before it could exhaust memory.
MALLOC_LIMIT_MB=64
RSS_LIMIT_MB=1024

if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

export RUSTC_BOOTSTRAP=1
per_target_seconds=$((TOTAL_SECONDS / ${#TARGETS[@]}))
if [ "$per_target_seconds" -lt 1 ]; then
  per_target_seconds=1
fi

if command -v python3 >/dev/null; then
  python3 seeds.py
fi

echo "== building fuzz targets"
cargo fuzz build
mkdir -p target

failed=0
for target in "${TARGETS[@]}"; do
  echo "== fuzzing $target for ${per_target_seconds}s"
  mkdir -p "corpus/$target" "artifacts/$target"
  marker=$(mktemp)
  # libFuzzer prints a line per new input: keep them in a log, show the summary.
  log="target/fuzz-$target.log"
  if cargo fuzz run "$target" -- \
      -max_total_time="$per_target_seconds" \
      -malloc_limit_mb="$MALLOC_LIMIT_MB" \
      -rss_limit_mb="$RSS_LIMIT_MB" \
      -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^(Done|stat::(number_of_executed_units|new_units_added|peak_rss_mb))' "$log" || true
  else
    failed=1
    # Show the failure itself (panic or sanitizer report), not cargo-fuzz's own backtrace.
    first=$(grep -n -m1 -E 'panicked at|==[0-9]+==|ERROR: libFuzzer' "$log" | cut -d: -f1 || true)
    if [ -n "$first" ]; then
      sed -n "${first},$((first + 40))p" "$log"
    else
      tail -n 60 "$log"
    fi
    echo "!! fuzz target $target failed (whole log: fuzz/$log)"
    while IFS= read -r artifact; do
      echo "!! reproducer: fuzz/$artifact"
      echo "!!   replay: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run $target $artifact)"
    done < <(find "artifacts/$target" -type f -newer "$marker")
  fi
  rm -f "$marker"
done

if [ "$failed" -ne 0 ]; then
  echo "== fuzzing found crashes"
  exit 1
fi
echo "== fuzzing found no crash in ${TOTAL_SECONDS}s"
