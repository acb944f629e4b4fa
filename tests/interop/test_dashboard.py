"""The admin port's web dashboard: its JSON API over HTTP (reads, the data-reading rule, writes
with ZooKeeper's error names, bad input), and end to end in headless chromium driven by Playwright
(tests/ui/dashboard.mjs, run with node): against a 3-member corral ensemble, browse the tree
to a node and read its data and Stat, edit a node whose ACL needs a digest (NoAuth without
it, success with it; kazoo sees the change), see sessions with their ephemerals, a watch and
an election queue, live charts, then kill the leader and see a surviving member's ensemble
page name a new leader.

Screenshots go to a temporary directory; with CORRAL_UPDATE_SCREENSHOTS=1 they replace the
ones in docs/dashboard/. Needs node, tests/ui's node_modules (`npm ci`) and /usr/bin/chromium,
which install-deps.sh installs; the test is skipped, saying why, only where one is missing."""

import base64
import json
import os
import shutil
import socket
import subprocess
import threading
import urllib.error
import urllib.request

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


needs_browser = pytest.mark.skipif(missing_tools() is not None, reason=str(missing_tools()))


def http(url, body=None, headers=None, method=None):
    """(status, parsed JSON body) of a request, error statuses included."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def write(url, auth=None, **op):
    body = json.dumps({**op, "auth": auth}).encode()
    return http(f"{url}/api/write", body, {"Content-Type": "application/json"})


def start_dashboard(start_server, **cfg):
    port = free_port()
    server = start_server("corral", {"admin.enableServer": "true",
                                     "admin.serverAddress": "127.0.0.1",
                                     "admin.serverPort": str(port), **cfg})
    server.url = f"http://127.0.0.1:{port}"
    return server


@pytest.fixture
def dashboard(start_server):
    return start_dashboard(start_server, superDigest="super:D/InIHSb7yEEbrWz8b9l71RjZJU=")


def test_a_read_only_dashboard_refuses_writes_and_an_off_one_is_not_served(start_server):
    readonly = start_dashboard(start_server, **{"admin.dashboard": "readonly"})
    assert http(f"{readonly.url}/api/node?path=/")[0] == 200
    status, body = write(readonly.url, None, op="create", path="/x", data="")
    assert (status, body["error"]) == (403, "ReadOnly")
    off = start_dashboard(start_server, **{"admin.dashboard": "off"})
    assert http(f"{off.url}/api/node?path=/")[0] == 404
    assert http(f"{off.url}/dashboard")[0] == 404
    assert http(f"{off.url}/commands/ruok") == (200, {"command": "ruok", "error": None})


def test_data_is_shown_only_to_whom_the_acl_lets_read(dashboard, make_client):
    zk = make_client(hosts=dashboard.hosts)
    zk.create("/open", b"for all")
    zk.create("/closed", b"for alice", acl=[make_digest_acl(*DIGEST, all=True)])
    status, node = http(f"{dashboard.url}/api/node?path=/open")
    assert status == 200 and base64.b64decode(node["data"]) == b"for all"
    assert node["acl"] == [{"scheme": "world", "id": "anyone", "perms": "cdrwa"}]
    status, node = http(f"{dashboard.url}/api/node?path=/closed")
    assert status == 200 and node["data"] is None and not node["readable"]
    assert node["stat"]["dataLength"] == 9 and node["stat"]["version"] == 0
    for auth in (":".join(DIGEST), "super:test"):
        _, node = http(f"{dashboard.url}/api/node?path=/closed", headers={"X-Corral-Auth": auth})
        assert base64.b64decode(node["data"]) == b"for alice", auth
    _, node = http(f"{dashboard.url}/api/node?path=/closed",
                   headers={"X-Corral-Auth": "alice:wrong"})
    assert node["data"] is None


def test_writes_are_a_clients_with_zookeepers_errors(dashboard, make_client):
    url, alice = dashboard.url, ":".join(DIGEST)
    status, r = write(url, alice, op="create", path="/w", data="one", acl="creator")
    assert status == 200 and r["path"] == "/w" and r["stat"]["version"] == 0
    assert write(url, None, op="set", path="/w", data="x")[1]["error"] == "NoAuth"
    assert write(url, "alice:wrong", op="set", path="/w", data="x")[1]["error"] == "NoAuth"
    assert write(url, alice, op="set", path="/w", data="x", version=5)[1]["error"] == "BadVersion"
    status, r = write(url, alice, op="set", path="/w", data="two", version=0)
    assert status == 200 and r["stat"]["version"] == 1
    assert write(url, alice, op="create", path="/w", data="")[1]["error"] == "NodeExists"
    assert write(url, None, op="set", path="/none", data="")[1]["error"] == "NoNode"
    status, r = write(url, None, op="create", path="/q/n_", data="", sequential=True)
    assert r["error"] == "NoNode"
    write(url, None, op="create", path="/q", data="")
    status, r = write(url, None, op="create", path="/q/n_", data="AAH/", encoding="base64",
                      sequential=True)
    assert status == 200 and r["path"] == "/q/n_0000000000"
    assert write(url, None, op="delete", path="/q")[1]["error"] == "NotEmpty"
    assert write(url, None, op="delete", path="/q/n_0000000000")[0] == 200
    zk = make_client(hosts=dashboard.hosts, auth_data=[("digest", alice)])
    assert zk.get("/w")[0] == b"two"
    assert zk.get_acls("/w")[0] == [make_digest_acl(*DIGEST, all=True)]
    assert not zk.exists("/q/n_0000000000")


def test_children_come_in_pages_and_queues_in_sequence_order(dashboard, make_client):
    zk = make_client(hosts=dashboard.hosts)
    zk.create("/big")
    tx = zk.transaction()
    for i in range(620):
        tx.create(f"/big/c{i:04d}")
    tx.commit()
    _, first = http(f"{dashboard.url}/api/node?path=/big")
    _, rest = http(f"{dashboard.url}/api/node?path=/big&offset=500")
    assert first["numChildren"] == 620 and len(first["children"]) == 500
    assert first["children"] + rest["children"] == [f"c{i:04d}" for i in range(620)]
    zk.create("/lock")
    zk.create("/lock/_c_b-lock-0000000002", ephemeral=True)
    zk.create("/lock/_c_a-lock-0000000010", ephemeral=True)
    zk.create("/lock/_c_c-lock-0000000001", ephemeral=True)
    _, q = http(f"{dashboard.url}/api/election?path=/lock")
    assert [x["sequence"] for x in q["queue"]] == [1, 2, 10]
    assert q["queue"][0]["ephemeralOwner"] == hex(zk.client_id[0])
    _, sessions = http(f"{dashboard.url}/api/sessions")
    mine = next(s for s in sessions["sessions"] if s["id"] == hex(zk.client_id[0]))
    assert len(mine["ephemerals"]) == 3 and mine["client"].startswith("127.0.0.1:")


def test_bad_requests_get_json_errors(dashboard):
    url = dashboard.url
    json_type = {"Content-Type": "application/json"}
    cases = [
        (http(f"{url}/api/node?path=no-slash"), 400, "BadArguments"),
        (http(f"{url}/api/node"), 400, "BadArguments"),
        (http(f"{url}/api/node?path=/&offset=x"), 400, "BadArguments"),
        (http(f"{url}/api/node?path=/nothing"), 404, "NoNode"),
        (http(f"{url}/api/election?path=/nothing"), 404, "NoNode"),
        (http(f"{url}/api/nothing"), 404, "NotFound"),
        (http(f"{url}/api/write"), 405, "MethodNotAllowed"),
        (http(f"{url}/api/node?path=/", b"{}", json_type, "POST"), 405, "MethodNotAllowed"),
        (http(f"{url}/api/write", b"{}", {"Content-Type": "text/plain"}), 415, "BadContentType"),
        (http(f"{url}/api/write", b"{nope", json_type), 400, "BadArguments"),
        (http(f"{url}/api/write", b"\xff", json_type), 400, "BadArguments"),
        (http(f"{url}/api/write", b'{"op":"set","path":"/a/"}', json_type), 400, "BadArguments"),
        (http(f"{url}/api/write", b"[" * 100 + b"]" * 100, json_type), 400, "BadArguments"),
    ]
    for (status, body), want_status, want_error in cases:
        assert (status, body.get("error")) == (want_status, want_error), body
    # A body over the limit is refused from its Content-Length, before it is read.
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as s:
        s.sendall(b"POST /api/write HTTP/1.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 99999999\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 413 ")
    status, _ = http(f"{url}/api/stats")
    assert status == 200  # and the server goes on




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


@needs_browser
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
        for name in ("tree", "edit", "sessions", "election", "charts", "ensemble",
                     "ensemble-failover"):
            shutil.copy(os.path.join(screenshots, f"{name}.png"), DOCS_DIR)
