"""The admin HTTP server (ZooKeeper's AdminServer: JSON commands, plus corral's /health and
/ready) and Prometheus /metrics, end to end against a corral with both ports enabled; the
commands' field names also against Apache ZooKeeper 3.8's AdminServer (Debian's Jetty jars).
ZooKeeper's Prometheus provider is not installed here: /metrics is checked on corral only."""

import json
import os
import re
import socket
import urllib.error
import urllib.request

import time

import pytest

import ensemble
import servers
from jsonshape import field_names
from servers import free_port

PROMETHEUS = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"
FRESH_ZNODE_COUNT = 5


def start_with_admin(start_server, kind):
    port = free_port()
    server = start_server(kind, {"admin.enableServer": "true",
                                 "admin.serverAddress": "127.0.0.1",
                                 "admin.serverPort": str(port)})
    server.admin_url = f"http://127.0.0.1:{port}"
    return server


@pytest.fixture
def admin(start_server):
    admin_port, metrics_port = free_port(), free_port()
    server = start_server("corral", {
        "admin.enableServer": "true",
        "admin.serverAddress": "127.0.0.1",
        "admin.serverPort": str(admin_port),
        "metricsProvider.className": PROMETHEUS,
        "metricsProvider.httpHost": "127.0.0.1",
        "metricsProvider.httpPort": str(metrics_port),
    })
    server.admin_url = f"http://127.0.0.1:{admin_port}"
    server.metrics_url = f"http://127.0.0.1:{metrics_port}"
    return server


def get(url):
    """(status, content type, body) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def command(server, name):
    status, ctype, body = get(f"{server.admin_url}/commands/{name}")
    assert status == 200 and ctype == "application/json", (status, body)
    answer = json.loads(body)
    assert answer["error"] is None, answer
    return answer


def test_commands_list_and_ruok(admin):
    # As ZooKeeper's AdminServer: /commands is a page of links, one per command.
    status, ctype, body = get(f"{admin.admin_url}/commands")
    assert status == 200 and ctype.startswith("text/html")
    names = re.findall(r'<a href="/commands/([a-z_]+)">', body)
    for name in ["ruok", "server_stats", "stats", "monitor", "configuration", "environment",
                 "connections", "dump", "watch_summary", "is_read_only", "dirs", "watches",
                 "watches_by_path", "leader", "voting_view", "zabstate"]:
        assert name in names
    assert command(admin, "ruok") == {"command": "ruok", "error": None}
    # Answers name a command by ZooKeeper's primary name, whichever name asked.
    for asked, primary in [("srvr", "server_stats"), ("stat", "stats"), ("mntr", "monitor"),
                           ("conf", "configuration"), ("config", "configuration"),
                           ("envi", "environment"), ("env", "environment"),
                           ("cons", "connections"), ("wchs", "watch_summary"),
                           ("wchc", "watches"), ("wchp", "watches_by_path"),
                           ("isro", "is_read_only"), ("monitor", "monitor"),
                           ("lsnp", "last_snapshot"), ("gtmk", "get_trace_mask")]:
        assert command(admin, asked)["command"] == primary


def test_health_and_ready(admin):
    status, _, body = get(f"{admin.admin_url}/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, _, body = get(f"{admin.admin_url}/ready")
    assert status == 200 and json.loads(body)["error"] is None


def test_unknown_paths_are_404_json(admin):
    for path in ["/nope", "/commands/nope"]:
        status, ctype, body = get(admin.admin_url + path)
        assert status == 404 and ctype == "application/json"
        assert json.loads(body)["error"]
    status, _, _ = get(admin.metrics_url + "/nope")
    assert status == 404


def test_monitor_and_stats_follow_the_tree(admin, make_client):
    zk = make_client(hosts=admin.hosts)
    zk.create("/a", b"xyz")
    zk.create("/a/e", ephemeral=True)
    zk.get("/a", watch=lambda e: None)
    for name in ["mntr", "monitor"]:
        m = command(admin, name)
        assert m["command"] == "monitor"
        assert m["znode_count"] == FRESH_ZNODE_COUNT + 2
        assert m["ephemerals_count"] == 1
        assert m["watch_count"] == 1
        assert m["server_state"] == "standalone"
        assert m["num_alive_connections"] == 1
        assert not any(k.startswith("zk_") for k in m)
    s = command(admin, "server_stats")
    assert s["command"] == "server_stats" and s["node_count"] == FRESH_ZNODE_COUNT + 2
    assert s["server_stats"]["server_state"] == "standalone"
    assert s["server_stats"]["packets_received"] > 0
    stat = command(admin, "stat")
    assert len(stat["connections"]) == 1
    conn = command(admin, "cons")["connections"][0]
    assert conn["session_id"] == zk.client_id[0]
    assert conn["packets_received"] > 0
    dump = command(admin, "dump")
    assert dump["session_id_to_ephemeral_paths"] == {str(zk.client_id[0]): ["/a/e"]}
    assert command(admin, "wchs") == {"command": "watch_summary", "error": None, "num_connections": 1,
                                      "num_paths": 1, "num_total_watches": 1}
    assert command(admin, "is_read_only")["read_only"] is False


def test_conf_and_envi(admin):
    conf = command(admin, "configuration")
    assert conf["client_port"] == admin.port and conf["tick_time"] == 2000
    assert conf["min_session_timeout"] == 4000 and conf["max_session_timeout"] == 40000
    envi = command(admin, "environment")
    assert envi["zookeeper.version"].startswith("3.8.0-corral")


def test_prometheus_metrics(admin, make_client):
    zk = make_client(hosts=admin.hosts)
    for i in range(3):
        zk.create(f"/m{i}")
    status, ctype, body = get(admin.metrics_url + "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    values = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.split(" ")
            values[name] = float(value)
    assert values["znode_count"] == FRESH_ZNODE_COUNT + 3
    for name in ["watch_count", "ephemerals_count", "approximate_data_size",
                 "num_alive_connections", "outstanding_requests", "global_sessions",
                 "avg_latency", "min_latency", "max_latency", "packets_received",
                 "packets_sent", "uptime"]:
        assert name in values, name
    assert values["num_alive_connections"] == 1 and values["global_sessions"] == 1


def test_bad_requests_get_an_answer(admin):
    host, port = admin.admin_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /commands/ruok HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 405 ")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 431 ")


def test_a_taken_admin_port_does_not_stop_the_server(start_server, make_client):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        server = start_server("corral", {"admin.enableServer": "true",
                                         "admin.serverAddress": "127.0.0.1",
                                         "admin.serverPort": str(port)})
        zk = make_client(hosts=server.hosts)
        zk.create("/still-serving")
        assert "admin server not started" in server.log()


def wait_ready_status(url, want, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    status = None
    while time.monotonic() < deadline:
        try:
            status, _, _ = get(url + "/ready")
        except OSError:
            status = None
        if status == want:
            return
        time.sleep(0.1)
    raise AssertionError(f"/ready at {url} answered {status}, not {want}, for {timeout_s}s")


def test_ready_is_503_for_a_member_without_a_quorum():
    ens = ensemble.Ensemble("corral", voters=3)
    lines = [m.server_line() for m in ens.members]
    urls = {}
    for m in ens.members:
        port = free_port()
        urls[m.id] = f"http://127.0.0.1:{port}"
        m.write_config(lines, {"admin.enableServer": "true",
                               "admin.serverAddress": "127.0.0.1",
                               "admin.serverPort": str(port)})
    try:
        ens.start()
        leader = ens.leader()
        for m in ens.members:
            wait_ready_status(urls[m.id], 200)
        survivor = next(m for m in ens.members if m is not leader)
        for m in ens.members:
            if m is not survivor:
                m.kill()
        wait_ready_status(urls[survivor.id], 503)
        status, _, body = get(urls[survivor.id] + "/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, _, body = get(urls[survivor.id] + "/commands/mntr")
        assert status == 200 and json.loads(body)["error"]
        # As ZooKeeper's: commands that need a running server say it is not serving (ruok
        # too), the others answer.
        status, _, body = get(urls[survivor.id] + "/commands/ruok")
        assert status == 200 and json.loads(body)["error"]
        status, _, body = get(urls[survivor.id] + "/commands/environment")
        assert status == 200 and json.loads(body)["error"] is None
        assert json.loads(get(urls[survivor.id] + "/commands/zabstate")[2])["zabstate"] == \
            "election"
    finally:
        ens.stop()


def field_types(value, prefix=""):
    """(key, JSON type) pairs of an answer's scalar fields, as in `field_names`; ints and
    floats are both "number", null goes with anything (ZooKeeper's `error`)."""
    kinds = {bool: "bool", int: "number", float: "number", str: "string"}
    pairs = set()
    if isinstance(value, dict):
        for k, v in value.items():
            k = "<id>" if k.isdigit() else k
            if v is not None and type(v) in kinds:
                pairs.add((prefix + k, kinds[type(v)]))
            pairs |= field_types(v, prefix + k + ".")
    elif isinstance(value, list):
        for v in value:
            pairs |= field_types(v, prefix.rstrip(".") + "[].")
    return pairs


# Where corral's answer differs from ZooKeeper's on purpose (see the README).
CORRAL_ONLY_FIELDS = {"mntr": {"leader_id"}}


def test_field_names_are_zookeepers(start_server, make_client):
    if not os.path.exists(f"{servers.ZK_JARS}/jetty9-server.jar"):
        pytest.skip("Jetty is not installed: ZooKeeper's AdminServer cannot start")
    answers = {}
    for kind in ("zookeeper", "corral"):
        server = start_with_admin(start_server, kind)
        zk = make_client(hosts=server.hosts)
        zk.create("/a", b"xyz")
        zk.create("/a/e", ephemeral=True)
        zk.get("/a", watch=lambda e: None)
        answers[kind] = {name: command(server, name)
                         for name in ["ruok", "srvr", "stat", "mntr", "conf", "envi", "cons",
                                      "dump", "wchs", "isro"]}
    for name, theirs in answers["zookeeper"].items():
        ours = answers["corral"][name]
        assert ours["command"] == theirs["command"], name
        allowed = CORRAL_ONLY_FIELDS.get(name, set())
        extra = {f for f in field_names(ours) - field_names(theirs)
                 if f.split(".")[0] not in allowed}
        assert not extra, f"{name}: fields ZooKeeper does not have: {sorted(extra)}"
        assert field_types(ours) <= field_types(theirs) | {
            (k, t) for k, t in field_types(ours) if k.split(".")[0].split("[")[0]
            in CORRAL_ONLY_FIELDS.get(name, set())}, name
    # The figures both keep the same way agree.
    for key in ["znode_count", "ephemerals_count", "watch_count", "num_alive_connections"]:
        assert answers["corral"]["mntr"][key] == answers["zookeeper"]["mntr"][key], key
