"""The admin port's web dashboard, end to end in headless chromium driven by Playwright
(tests/ui/dashboard.mjs, run with node): against a 3-member corral ensemble, browse the tree
to a node and read its data and Stat, edit a node whose ACL needs a digest (NoAuth without
it, success with it; kazoo sees the change), see sessions with their ephemerals, a watch and
an election queue, live charts, then kill the leader and see a surviving member's ensemble
page name a new leader.

Screenshots go to a temporary directory; with CORRAL_UPDATE_SCREENSHOTS=1 they replace the
ones in docs/dashboard/. Needs node, tests/ui's node_modules (`npm ci`) and /usr/bin/chromium,
which install-deps.sh installs; the test is skipped, saying why, only where one is missing."""

import json
import os
import shutil
import subprocess
import threading

import pytest
from kazoo.security import make_digest_acl

from servers import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
UI_DIR = os.path.join(HERE, "..", "ui")
DOCS_DIR = os.path.join(HERE, "..", "..", "docs", "dashboard")
CHROMIUM = "/usr/bin/chromium"
DIGEST = ("alice", "s3cret")
CONFIG_DATA = b'{"replicas":3,"zone":"eu-west"}'
# Each phase of the script bounds its own waits; this bounds the whole run.
PHASE_TIMEOUT_S = 180


def missing_tools():
    if shutil.which("node") is None:
        return "node is not installed"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (Debian's chromium; install-deps.sh installs it)"
    if not os.path.isdir(os.path.join(UI_DIR, "node_modules", "playwright-core")):
        return "tests/ui has no node_modules/playwright-core (install-deps.sh runs npm ci)"
    return None


pytestmark = pytest.mark.skipif(missing_tools() is not None, reason=str(missing_tools()))


def run_phase(phase, url, screenshots, **env):
    """Runs one phase of dashboard.mjs; returns its JSON line, or fails with its output."""
    proc = subprocess.run(
        ["node", os.path.join(UI_DIR, "dashboard.mjs"), phase],
        cwd=UI_DIR, capture_output=True, text=True, timeout=PHASE_TIMEOUT_S,
        env={**os.environ, "DASHBOARD_URL": url, "SCREENSHOT_DIR": screenshots,
             "CHROMIUM": CHROMIUM, **env})
    assert proc.returncode == 0, (f"dashboard.mjs {phase} failed:\n{proc.stderr[-6000:]}"
                                  f"\n{proc.stdout[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class Load:
    """Reads /app/config in a loop on one client until stopped: the charts' traffic."""

    def __init__(self, client):
        self.client, self.stop = client, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            try:
                self.client.get("/app/config")
            except Exception:  # noqa: BLE001 - a connection lost at failover ends the load
                self.stop.wait(0.1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)


def test_browse_edit_and_failover_in_chromium(start_ensemble, make_client, tmp_path):
    admin_ports = {}

    def admin_port(member):
        return str(admin_ports.setdefault(member.id, free_port()))

    ens = start_ensemble("corral", voters=3, extra_cfg={
        "admin.enableServer": "true",
        "admin.serverAddress": "127.0.0.1",
        "admin.serverPort": admin_port,
    })
    leader = ens.leader()
    survivor = next(m for m in ens.members if m is not leader)
    url = f"http://127.0.0.1:{admin_ports[survivor.id]}"

    # Clients on the member whose dashboard is used, so its watches and connections show.
    zk = make_client(hosts=survivor.host)
    zk.create("/app/config", CONFIG_DATA, makepath=True)
    alice = make_digest_acl(*DIGEST, all=True)
    zk.create("/app/secret", b"only alice", acl=[alice])
    zk.get("/app/config", watch=lambda event: None)
    candidates = [make_client(hosts=survivor.host) for _ in range(2)]
    for c in candidates:
        c.create("/election/n_", b"", ephemeral=True, sequence=True, makepath=True)

    screenshots = str(tmp_path)
    with Load(make_client(hosts=survivor.host)):
        found = run_phase("browse", url, screenshots, DIGEST=":".join(DIGEST),
                          LEADER_URL=f"http://127.0.0.1:{admin_ports[leader.id]}")
    assert "NoAuth" in found["withoutDigest"], found
    assert found["withDigest"].startswith("OK: set /app/secret"), found
    assert found["electionFirst"] == "n_0000000000" and found["electionSize"] == 2, found
    assert found["leader"] == leader.id and found["members"] == 3, found

    reader = make_client(hosts=survivor.host, auth_data=[("digest", ":".join(DIGEST))])
    data, stat = reader.get("/app/secret")
    assert data == b"changed from the dashboard" and stat.version == 1

    leader.kill()
    after = run_phase("failover", url, screenshots, OLD_LEADER=str(leader.id))
    assert after["leader"] != leader.id and after["leader"] in admin_ports, after
    assert ens.leader().id == after["leader"]

    if os.environ.get("CORRAL_UPDATE_SCREENSHOTS") == "1":
        os.makedirs(DOCS_DIR, exist_ok=True)
        for name in ("tree", "edit", "election", "charts", "ensemble", "ensemble-failover"):
            shutil.copy(os.path.join(screenshots, f"{name}.png"), DOCS_DIR)
