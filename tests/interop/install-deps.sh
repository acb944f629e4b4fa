#!/usr/bin/env bash
# Installs what the interop tests need on a Debian machine: Apache ZooKeeper 3.8 (the reference
# server, zkCli.sh and its Java client), the C client tools (cli_mt, load_gen), Curator's jars
# and a JDK to compile tests/interop/java, the Python packages of requirements.txt, Debian's
# chromium and tests/ui's npm packages (playwright-core, for test_dashboard.py).
# Idempotent and quiet: apt runs only when something is missing, npm ci only when
# tests/ui/package-lock.json changed since the last install.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

packages=(
  zookeeper                 # server, zkCli.sh, libzookeeper-java (zookeeper.jar, zookeeper-jute.jar)
  zookeeper-bin             # cli_mt, load_gen
  libcurator-framework-java
  libcurator-recipes-java
  libcurator-client-java
  libslf4j-java             # slf4j-api, slf4j-simple (server and Curator logs)
  mount                     # mount/umount: test_full_disk.py's tmpfs (needs root; skipped otherwise)
  iproute2                  # ip: test_partition.py's namespaces and links (needs root; skipped otherwise)
  chromium                  # /usr/bin/chromium: test_dashboard.py drives it with Playwright
  openssl                   # test_tls.py makes its CA and certificates with the openssl command
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
pip_log="$(mktemp)"
trap 'rm -f "$pip_log"' EXIT
if ! python3 -m pip install -q -r "$here/requirements.txt" 2>"$pip_log"; then
  # Debian's own python3 is "externally managed" (PEP 668); these are test-only packages.
  if grep -q externally-managed "$pip_log"; then
    python3 -m pip install -q --break-system-packages -r "$here/requirements.txt"
  else
    cat "$pip_log" >&2
    exit 1
  fi
fi

# tests/ui: playwright-core as the lockfile pins it. Playwright's own browser download is
# never used (the test launches Debian's chromium), so it is switched off.
ui="$here/../ui"
stamp="$ui/node_modules/.corral-lock-sha256"
want="$(sha256sum "$ui/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  (cd "$ui" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund >/dev/null)
  echo "$want" >"$stamp"
fi
