"""Operators' outputs against Apache ZooKeeper 3.8's for the same state: every four-letter
word (line keys and shapes, not timing values), every AdminServer command (JSON field names,
recursively), and the Prometheus metric names and types. Then an ensemble (3 voters and an
observer) against a ZooKeeper ensemble: the leader's, a follower's and the observer's `mntr`
keys, the leader's and a follower's conf, srvr, dump, cons and every AdminServer command; and
/metrics on a corral leader and follower, before and after the leader is killed.

ZooKeeper's Prometheus provider is not in Debian's package, so ZooKeeper's metric families
are read from its `mntr` (its default provider prints every registered metric: a summary as
`avg_`/`min_`/`max_`/`cnt_`/`sum_`, with `p50_`… when it has percentiles; Prometheus shows
those as quantiles 0.5, 0.9, 0.99), and their types from ZooKeeper's `ServerMetrics.java`
(COUNTERS below). What differs on purpose is listed in docs/compatibility.md."""

import json
import os
import re
import socket
import time
import urllib.error
import urllib.request

import pytest
from kazoo.client import KazooClient

import ensemble
import servers
from jsonshape import field_names
from servers import free_port
from zkwire import four_letter

PROMETHEUS = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"
# In this order: the two resets last, so the others see the state's counts.
WORDS = ["ruok", "isro", "gtmk", "hash", "conf", "envi", "srvr", "stat", "cons", "dump",
         "wchs", "wchc", "wchp", "mntr", "dirs", "srst", "crst"]
# Words whose whole answer is the same text on both.
EXACT = {"ruok", "isro", "gtmk", "hash", "srst", "crst"}
# `key<sep>value` words: their keys must match.
KEYED = {"conf": "=", "envi": "=", "mntr": "\t", "dirs": ": "}
# Keys only ZooKeeper has: the JVM's own (`java.*`).
JVM_ONLY = re.compile(r"^(java|jdk|sun|jetty|org\.slf4j|zookeeper\.(?!version)|user\.(country|language|timezone|variant)|native\.|stdout|stderr|file\.|line\.|path\.)")
# corral's additions (docs/compatibility.md): srvr's and mntr's leader on an ensemble member.
CORRAL_ONLY_KEYS = {"Leader", "zk_leader_id", "leader_id"}
# ZooKeeper 3.8's counters (ServerMetrics.java); every other non-summary metric is a gauge.
COUNTERS = {
    "looking_count", "diff_count", "snap_count", "commit_count", "connection_request_count",
    "connection_rejected", "bytes_received_count", "unrecoverable_error_count",
    "add_dead_watcher_stall_time", "dead_watchers_queued", "dead_watchers_cleared",
    "response_packet_cache_hits", "response_packet_cache_misses",
    "response_packet_get_children_cache_hits", "response_packet_get_children_cache_misses",
    "ensemble_auth_success", "ensemble_auth_fail", "ensemble_auth_skip",
    "prep_processor_request_queued", "outstanding_changes_queued", "outstanding_changes_removed",
    "revalidate_count", "connection_drop_count", "connection_revalidate_count",
    "sessionless_connections_expired", "stale_sessions_expired", "request_commit_queued",
    "throttled_ops", "learner_proposal_received_count", "learner_commit_received_count",
    "sync_processor_request_queued", "proposal_count", "quit_leading_due_to_disloyal_voter",
    "stale_requests", "stale_requests_dropped", "stale_replies", "request_throttle_wait_count",
    "large_requests_rejected", "digest_mismatches_count", "unsuccessful_handshake",
    "insecure_admin_count", "tls_handshake_exceeded", "cnxn_closed_without_zk_server_running",
    "skip_learner_request_to_next_processor_count", "requests_not_forwarded_to_commit_processor",
    "response_bytes", "watch_bytes"}
# ZooKeeper's summary sets: one summary per `key` label (mntr: `<stat>_<key>_<name>`).
SUMMARY_SETS = ["read_per_namespace", "write_per_namespace", "learner_handler_qp_size",
                "learner_handler_qp_time_ms", "ack_latency"]
# The metrics the issue names, which dashboards and alerts use: each must be in corral's
# /metrics with this type.
REQUIRED = {
    "readlatency": "summary", "updatelatency": "summary", "outstanding_requests": "gauge",
    "znode_count": "gauge", "watch_count": "gauge", "ephemerals_count": "gauge",
    "num_alive_connections": "gauge", "global_sessions": "gauge", "fsynctime": "summary",
    "snapshottime": "summary", "election_time": "summary", "looking_count": "counter",
    "leader_unavailable_time": "summary", "unavailable_time": "summary",
    "connection_rejected": "counter", "follower_sync_time": "summary",
    "learner_handler_qp_size": "summary", "approximate_data_size": "gauge",
    "process_cpu_seconds_total": "counter", "process_start_time_seconds": "gauge",
    "process_open_fds": "gauge", "process_max_fds": "gauge",
    "process_resident_memory_bytes": "gauge", "process_virtual_memory_bytes": "gauge"}
LEADER_GAUGES = {"learners", "synced_followers", "synced_non_voting_followers",
                 "synced_observers", "pending_syncs", "leader_uptime", "last_proposal_size",
                 "max_proposal_size", "min_proposal_size"}


def shape(text):
    """A line with its values replaced by what they are: dates, addresses, hex, numbers."""
    text = re.sub(r"\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} \w+ \d{4}", "DATE", text)
    text = re.sub(r"/?\d+\.\d+\.\d+\.\d+:\d+", "ADDR", text)
    text = re.sub(r"0x[0-9a-f]+", "HEX", text)
    return re.sub(r"-?\d+(\.\d+)?(E-?\d+)?", "N", text)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def build_state(hosts):
    """A session with an ephemeral, data and child watches, an exists watch on a missing
    node, and some znodes."""
    zk = KazooClient(hosts=hosts, timeout=10.0)
    zk.start(timeout=15)
    zk.create("/app", b"12345")
    zk.create("/app/e", ephemeral=True)
    zk.create("/app/c1", b"x")
    zk.get("/app", watch=lambda e: None)
    zk.get_children("/app", watch=lambda e: None)
    zk.exists("/nope", watch=lambda e: None)
    return zk


def capture(kind):
    """Starts `kind` with the admin server (and corral's /metrics), builds the state, and
    returns every word's answer and every admin command's."""
    admin_port, metrics_port = free_port(), free_port()
    cfg = {"admin.enableServer": "true", "admin.serverAddress": "127.0.0.1",
           "admin.serverPort": str(admin_port)}
    if kind == "corral":
        cfg.update({"metricsProvider.className": PROMETHEUS,
                    "metricsProvider.httpHost": "127.0.0.1",
                    "metricsProvider.httpPort": str(metrics_port)})
    server = servers.start(kind, cfg)
    zk = None
    try:
        zk = build_state(server.hosts)
        out = {"words": {w: four_letter(server.port, w) for w in WORDS}}
        admin = f"http://127.0.0.1:{admin_port}"
        _, ctype, page = get(admin + "/commands")
        out["page_type"] = ctype
        out["commands"] = re.findall(r'<a href="/commands/([a-z_]+)">', page)
        resets = {"stat_reset", "connection_stat_reset", "observer_connection_stat_reset"}
        order = [c for c in out["commands"] if c not in resets] + sorted(resets)
        out["admin"] = {c: json.loads(get(f"{admin}/commands/{c}")[2]) for c in order}
        if kind == "corral":
            out["metrics"] = get(f"http://127.0.0.1:{metrics_port}/metrics")
        return out
    finally:
        if zk is not None:
            zk.stop()
            zk.close()
        server.stop()


@pytest.fixture(scope="module")
def outputs():
    if not os.path.exists(f"{servers.ZK_JARS}/jetty9-server.jar"):
        pytest.skip("Jetty is not installed: ZooKeeper's AdminServer cannot start")
    return {kind: capture(kind) for kind in ("zookeeper", "corral")}


def keys(text, sep):
    return {line.split(sep, 1)[0] for line in text.splitlines() if line}


def test_four_letter_words_have_zookeepers_lines(outputs):
    zk, ours = outputs["zookeeper"]["words"], outputs["corral"]["words"]
    for word in WORDS:
        theirs, mine = zk[word], ours[word]
        if word in EXACT:
            assert mine == theirs, word
        elif word in KEYED:
            want, got = keys(theirs, KEYED[word]), keys(mine, KEYED[word])
            if word == "envi":
                want = {k for k in want if not JVM_ONLY.match(k)}
            assert got == want, f"{word}: ZooKeeper only {sorted(want - got)}, " \
                                f"corral only {sorted(got - want)}"
        elif word in ("srvr", "stat"):
            # `Key: value` lines by key, client lines by shape (ZooKeeper's also lists the
            # asking connection, of the same shape).
            def lines(text):
                return {ln.split(": ", 1)[0] if ": " in ln else shape(ln)
                        for ln in text.split("\n")}
            assert lines(mine) - CORRAL_ONLY_KEYS == lines(theirs), word
        elif word in ("cons", "dump"):
            # The same kinds of lines (the asking connection's included); ZooKeeper's dump
            # also keeps empty expiry sets, which corral leaves out.
            want, got = {shape(ln) for ln in theirs.split("\n")}, \
                {shape(ln) for ln in mine.split("\n")}
            if word == "cons":
                assert got == want, (got ^ want)
            assert got <= want, f"{word}: shapes ZooKeeper does not print: {got - want}"
            assert {s for s in want if "sessionId" in s or s == "HEX:"} <= got, word
        else:  # the watch words: the same lines, values aside
            assert [shape(ln) for ln in mine.split("\n")] == \
                [shape(ln) for ln in theirs.split("\n")], word
    # The figures both keep the same way agree.
    for key in ["zk_znode_count", "zk_ephemerals_count", "zk_watch_count",
                "zk_global_sessions", "zk_outstanding_requests", "zk_num_alive_connections"]:
        value = {k: dict(ln.split("\t", 1) for ln in w["mntr"].splitlines())[key]
                 for k, w in (("zk", zk), ("corral", ours))}
        assert value["zk"] == value["corral"], key


def test_admin_commands_have_zookeepers_fields(outputs):
    zk, ours = outputs["zookeeper"], outputs["corral"]
    assert ours["page_type"].startswith("text/html")
    assert ours["commands"] == zk["commands"]
    assert len(zk["commands"]) >= 25, zk["commands"]
    for name, theirs in zk["admin"].items():
        mine = ours["admin"][name]
        assert mine["command"] == theirs["command"] == name
        assert (mine["error"] is None) == (theirs["error"] is None), (name, mine, theirs)
        want, got = field_names(theirs), field_names(mine) - CORRAL_ONLY_KEYS
        if name in ("environment", "system_properties"):
            want = {k for k in want if not JVM_ONLY.match(k)}
            got = {k for k in got if not JVM_ONLY.match(k)}
        assert got == want, f"{name}: ZooKeeper only {sorted(want - got)}, " \
                            f"corral only {sorted(got - want)}"


def set_member(name, summary_set):
    """Whether an mntr summary name is `<key>_<set>`: a namespace's key is a name, a
    learner's its id (so `quorum_ack_latency` is a summary of its own, not `ack_latency`'s)."""
    key = name.removesuffix("_" + summary_set)
    if key == name:
        return False
    return key.isdigit() or summary_set.endswith("_per_namespace")


def zookeeper_families(mntr_keys):
    """ZooKeeper's Prometheus families and types, from its default provider's `mntr` keys:
    {name: (type, quantiles)}."""
    keys = {k.removeprefix("zk_") for k in mntr_keys} - {"version", "server_state",
                                                         "peer_state"}
    families = {}
    for k in keys:
        if k.startswith("cnt_"):
            name = k.removeprefix("cnt_")
            name = next((s for s in SUMMARY_SETS if set_member(name, s)), name)
            advanced = f"p50_{k.removeprefix('cnt_')}" in keys
            families[name] = ("summary", ("0.5", "0.9", "0.99") if advanced else ("0.5",))
    parts = re.compile(r"^(avg|min|max|cnt|sum|p50|p95|p99|p999)_(.+)$")
    for k in keys:
        m = parts.match(k)
        if m and (m.group(2) in families or any(set_member(m.group(2), s)
                                                 for s in SUMMARY_SETS)):
            continue
        families[k] = ("counter" if k in COUNTERS else "gauge", ())
    return families


def corral_families(text):
    """{name: (type, quantiles)} of a Prometheus text page, with its HELP lines checked."""
    families, quantiles = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            families[name] = kind
        elif line.startswith("# HELP "):
            assert len(line.split(" ", 3)) == 4, line
        elif line:
            name, value = line.rsplit(" ", 1)
            float(value)  # NaN, 1.0E7 … parse
            m = re.match(r'^(\w+)\{(?:key="[^"]*",)?quantile="([\d.]+)",\}$', name)
            if m:
                quantiles.setdefault(m.group(1), set()).add(m.group(2))
    return {n: (k, tuple(sorted(quantiles.get(n, ()), key=float))) for n, k in families.items()}


def test_prometheus_has_zookeepers_metric_names_and_types(outputs):
    status, ctype, text = outputs["corral"]["metrics"]
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    # What a scraper reads: Prometheus' own Python parser takes the page family by family.
    from prometheus_client.parser import text_string_to_metric_families
    parsed = {f.name: f.type for f in text_string_to_metric_families(text)}
    ours = corral_families(text)
    assert {n.removesuffix("_total"): t for n, (t, _) in ours.items()} == parsed
    theirs = zookeeper_families(keys(outputs["zookeeper"]["words"]["mntr"], "\t"))
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs))
    print(f"ZooKeeper families corral lacks: {missing}\ncorral families ZooKeeper's mntr "
          f"does not show: {extra}")
    assert not missing
    for name, (kind, q) in theirs.items():
        if name in SUMMARY_SETS and not ours[name][1]:
            q = ()  # a set without members yet has no quantile lines
        assert ours[name] == (kind, q), name
    for name, kind in REQUIRED.items():
        assert ours.get(name, (None,))[0] == kind, name
    # Real measurements: the writes were fsynced and timed, the reads and writes counted.
    samples = samples_of(text)
    assert float(samples["updatelatency_count"]) >= 3
    assert float(samples["readlatency_count"]) >= 3
    assert float(samples["fsynctime_count"]) >= 3
    assert float(samples['write_per_namespace_count{key="app",}']) >= 3
    assert float(samples["znode_count"]) == 8.0
    assert float(samples["connection_request_count"]) >= 1
    assert float(samples["response_bytes"]) > 0
    for startup in ("startup_snap_load_time", "startup_txns_load_time", "dbinittime"):
        assert float(samples[f"{startup}_count"]) == 1.0, startup


# ---------------------------------------------------------------- ensembles


def samples_of(text):
    """{sample with its labels: value} of a Prometheus page."""
    return dict(ln.rsplit(" ", 1) for ln in text.splitlines() if ln and ln[0] != "#")


def mntr(member):
    out = four_letter(member.port, "mntr", host=member.client_ip)
    return dict(ln.split("\t", 1) for ln in out.splitlines() if "\t" in ln)


def wait_for(what, check, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, what
            return value
        time.sleep(0.2)


def start_ensemble(kind, admin_ports, metrics_ports=None):
    """A fresh ensemble of `kind` (3 voters and an observer) with the admin server on
    `admin_ports` and corral's /metrics on `metrics_ports`. (zoo.cfg's later lines win, and
    ZooKeeper takes `admin.*` keys from zoo.cfg over its command line's.)"""
    ens = ensemble.Ensemble(kind, voters=3, observers=1)
    for i, m in enumerate(ens.members):
        with open(m.cfg_path, "a") as f:
            f.write(f"admin.enableServer=true\nadmin.serverAddress=127.0.0.1\n"
                    f"admin.serverPort={admin_ports[i]}\n")
            if metrics_ports:
                f.write(f"metricsProvider.className={PROMETHEUS}\n"
                        f"metricsProvider.httpHost=127.0.0.1\n"
                        f"metricsProvider.httpPort={metrics_ports[i]}\n")
    ens.start()
    return ens


def member_admin(port):
    """Every AdminServer command's answer (the resets last)."""
    url = f"http://127.0.0.1:{port}"
    names = re.findall(r'<a href="/commands/([a-z_]+)">', get(url + "/commands")[2])
    resets = [n for n in names if n.endswith("_reset")]
    return {n: json.loads(get(f"{url}/commands/{n}")[2])
            for n in [n for n in names if n not in resets] + resets}


def compare_admin(theirs, mine, where):
    """The same commands, each with ZooKeeper's field names (and an error where it has one)."""
    assert list(mine) == list(theirs), where
    member_key = re.compile(r"^(avg|min|max|cnt|sum|p50|p95|p99|p999)_(.+)$")

    def names(name, answer):
        found = field_names(answer) - CORRAL_ONLY_KEYS
        if name in ("environment", "system_properties"):
            found = {k for k in found if not JVM_ONLY.match(k)}
        if name == "monitor":  # per-key summaries: namespaces and learner ids differ
            found = {k for k in found if not any(
                set_member((member_key.match(k) or [None] * 3)[2] or "", s)
                for s in SUMMARY_SETS)}
        return found

    for name, answer in theirs.items():
        want, got = names(name, answer), names(name, mine[name])
        assert got == want, f"{where} {name}: ZooKeeper only {sorted(want - got)}, " \
                            f"corral only {sorted(got - want)}"
        assert (mine[name]["error"] is None) == (answer["error"] is None), \
            (where, name, mine[name], answer)


def leader_and_follower(ens):
    leader = ens.leader()
    return leader, next(m for m in ens.members if m is not leader and not m.observer)


def observer_of(ens):
    """The observer's mntr, once it serves."""
    observer = next(m for m in ens.members if m.observer)
    return wait_for("the observer serving", lambda: (
        lambda m: m if m.get("zk_server_state") == "observer" else None)(mntr(observer)))


def member_words(member):
    return {w: four_letter(member.port, w, host=member.client_ip)
            for w in ("conf", "srvr", "dump", "cons")}


def test_ensemble_leader_and_follower_keys_and_metrics(monkeypatch):
    if not os.path.exists(f"{servers.ZK_JARS}/jetty9-server.jar"):
        pytest.skip("Jetty is not installed: ZooKeeper's AdminServer cannot start")
    # ZooKeeper's quorum peers with the AdminServer's jars as well.
    monkeypatch.setattr(ensemble, "ZK_QUORUM_CLASSPATH",
                        ensemble.ZK_QUORUM_CLASSPATH + ":" + servers.ZK_ADMIN_CLASSPATH)
    ports = [free_port() for _ in range(4)]
    words = {}
    corral_admin = [free_port() for _ in range(4)]
    corral = start_ensemble("corral", corral_admin, ports)
    try:
        leader, follower = leader_and_follower(corral)
        zk = build_state(follower.host)
        words["corral"] = {role: {**member_words(m), "admin": member_admin(
            corral_admin[m.id - 1])} for role, m in (("leader", leader), ("follower", follower))}
        zk.stop()
        zk.close()
        # The leader samples each follower's lag once a second.
        lead = wait_for("the leader's lag samples", lambda: (
            lambda m: m if "zk_cnt_2_learner_handler_qp_size" in m
            or "zk_cnt_1_learner_handler_qp_size" in m else None)(mntr(leader)))
        foll = mntr(follower)
        obs = observer_of(corral)
        lead_metrics = get(f"http://127.0.0.1:{ports[leader.id - 1]}/metrics")[2]
        foll_metrics = get(f"http://127.0.0.1:{ports[follower.id - 1]}/metrics")[2]
        # A leader change is measured where it happens: the new leader looked again.
        leader.kill()
        new_leader = corral.leader(20)
        after = samples_of(get(f"http://127.0.0.1:{ports[new_leader.id - 1]}/metrics")[2])
    finally:
        corral.stop()
    zk_admin = [free_port() for _ in range(4)]
    zookeeper = start_ensemble("zookeeper", zk_admin)
    try:
        zleader, zfollower = leader_and_follower(zookeeper)
        zk = build_state(zfollower.host)
        words["zookeeper"] = {role: {**member_words(m), "admin": member_admin(
            zk_admin[m.id - 1])} for role, m in (("leader", zleader), ("follower", zfollower))}
        zk.stop()
        zk.close()
        zlead, zfoll, zobs = mntr(zleader), mntr(zfollower), observer_of(zookeeper)
    finally:
        zookeeper.stop()

    # conf (with the quorum's keys and the membership), srvr, and the session with its
    # ephemeral in every member's dump, in ZooKeeper's shapes.
    for role in ("leader", "follower"):
        theirs, mine = words["zookeeper"][role], words["corral"][role]
        compare_admin(theirs["admin"], mine["admin"], role)
        assert keys(mine["conf"], "=") == keys(theirs["conf"], "="), role
        assert keys(mine["srvr"], ": ") - CORRAL_ONLY_KEYS == keys(theirs["srvr"], ": "), role
        for w in ("dump", "cons"):
            want = {shape(ln) for ln in theirs[w].split("\n")}
            got = {shape(ln) for ln in mine[w].split("\n")}
            assert got <= want, f"{role} {w}: shapes ZooKeeper does not print: {got - want}"
        assert "Sessions with Ephemerals (1):\n0x" in mine["dump"], role
        assert "Ephemerals (N):\nHEX:\n\t/app/e\n" in shape(mine["dump"]), role

    def plain(keys):
        """The keys without the per-key summaries (namespaces and learner ids differ)."""
        parts = re.compile(r"^zk_(avg|min|max|cnt|sum|p50|p95|p99|p999)_(.+)$")
        return {k for k in keys if not any(set_member((parts.match(k) or [None] * 3)[2] or "", s)
                                           for s in SUMMARY_SETS)} - {"zk_leader_id"}

    assert lead["zk_server_state"] == zlead["zk_server_state"] == "leader"
    assert foll["zk_server_state"] == zfoll["zk_server_state"] == "follower"
    assert lead["zk_peer_state"] == zlead["zk_peer_state"] == "leading - broadcast"
    assert foll["zk_peer_state"] == zfoll["zk_peer_state"] == "following - broadcast"
    assert plain(lead) == plain(zlead), (sorted(plain(zlead) - plain(lead)),
                                         sorted(plain(lead) - plain(zlead)))
    assert plain(foll) == plain(zfoll), (sorted(plain(zfoll) - plain(foll)),
                                         sorted(plain(foll) - plain(zfoll)))
    assert plain(obs) == plain(zobs), (sorted(plain(zobs) - plain(obs)),
                                       sorted(plain(obs) - plain(zobs)))
    assert obs["zk_peer_state"] == zobs["zk_peer_state"] == "observing - broadcast"
    assert obs["zk_observer_master_id"] == lead["zk_leader_id"]
    assert {f"zk_{g}" for g in LEADER_GAUGES} <= set(lead)
    assert not {f"zk_{g}" for g in LEADER_GAUGES} & set(foll)
    assert lead["zk_synced_followers"] == zlead["zk_synced_followers"] == "2"
    assert lead["zk_learners"] == zlead["zk_learners"] == "3"
    assert lead["zk_quorum_size"] == zlead["zk_quorum_size"] == "3"
    assert lead["zk_synced_observers"] == zlead["zk_synced_observers"] == "1"
    # Elections are measured: every member looked for a leader once and found one, and
    # looked again when the leader was killed.
    for text in (lead_metrics, foll_metrics):
        samples = samples_of(text)
        assert float(samples["looking_count"]) >= 1
        assert float(samples["election_time_count"]) >= 1
        assert float(samples["unavailable_time_count"]) >= 1
    assert float(after["looking_count"]) >= 2
    assert float(after["election_time_count"]) >= 2
    assert float(after["leader_unavailable_time_count"]) >= 1
    assert "# TYPE learner_handler_qp_size summary" in lead_metrics
    assert re.search(r'^learner_handler_qp_size_count\{key="\d",\} [1-9]', lead_metrics, re.M)
    assert re.search(r"^synced_followers 2\.0$", lead_metrics, re.M)
    assert "\nsynced_followers " not in foll_metrics
    assert re.search(r"^follower_sync_time_count [1-9]", foll_metrics, re.M)
    assert re.search(r"^leader_unavailable_time_count [1-9]", lead_metrics, re.M)


def test_connection_rejects_are_counted(start_server):
    """`maxClientCnxns` refusals are ZooKeeper's `connection_rejected` counter."""
    metrics_port = free_port()
    server = start_server("corral", {"maxClientCnxns": "2",
                                     "metricsProvider.className": PROMETHEUS,
                                     "metricsProvider.httpHost": "127.0.0.1",
                                     "metricsProvider.httpPort": str(metrics_port)})
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(2)]
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as third:
            assert third.recv(1) == b""  # closed at once
        samples = samples_of(get(f"http://127.0.0.1:{metrics_port}/metrics")[2])
        assert float(samples["connection_rejected"]) == 1.0
    finally:
        for s in held:
            s.close()
