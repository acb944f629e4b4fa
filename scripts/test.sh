#!/usr/bin/env bash
# Runs every test: installs what the tests need (Debian and PyPI packages), builds corral,
# runs the Rust tests, then the end-to-end tests with unmodified ZooKeeper clients and the
# differential test against Apache ZooKeeper 3.8, then the decoder fuzz targets for a bounded
# time. Set CORRAL_SKIP_FUZZ=1 to skip fuzzing, CORRAL_FUZZ_SECONDS to change its length.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/interop/install-deps.sh

echo "== cargo build --release"
cargo build --release --locked

echo "== cargo test"
cargo test --workspace --release --locked

echo "== end-to-end tests (kazoo, zkCli.sh, C client, Curator, differential)"
python3 -m pytest tests/interop -q -p no:cacheprovider

echo "== fault runs: nemesis against a 3-member ensemble, histories checked (tests/faults)"
python3 -m pytest tests/faults -q -p no:cacheprovider

if [ "${CORRAL_SKIP_FUZZ:-0}" != "1" ]; then
  echo "== fuzzing the frame and record decoders"
  bash fuzz/run.sh "${CORRAL_FUZZ_SECONDS:-60}"
fi
