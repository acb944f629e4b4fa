"""Quotas compared with Apache ZooKeeper 3.8: the same operations against both servers, with
`zookeeper.enforceQuota` on and off, must give the same answers. After every operation the
test compares its outcome (ok or the error class), the usage ZooKeeper keeps in
`/zookeeper/quota/<path>/zookeeper_stats`, and at the end the "Quota exceeded" lines of both
logs. Quotas are set up the way zkCli's `setquota` does it: the limit node, then the stats
node (whose creation makes the server count the subtree)."""

import random
import re

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import KazooException

import servers

ENFORCE = {"zookeeper.enforceQuota": "true"}
OPS_PER_RUN = 120


def limits(count=-1, bytes_=-1, count_hard=-1, bytes_hard=-1):
    """`StatsTrack.toString` of a limit as setquota writes it."""
    return (f"count={count},bytes={bytes_}=;byteHardLimit={bytes_hard};"
            f"countHardLimit={count_hard}").encode()


def set_quota(zk, path, data):
    quota = "/zookeeper/quota" + path
    zk.ensure_path(quota)
    zk.create(quota + "/zookeeper_limits", data)
    zk.create(quota + "/zookeeper_stats", b"count=0,bytes=0")


def outcome(fn):
    try:
        fn()
        return "ok"
    except KazooException as e:
        return type(e).__name__


def script(seed):
    """The operations of one run: writes under /q (which has the quota) and /free (which
    does not), and limit changes between soft and hard."""
    rng = random.Random(seed)
    names = ("a", "b", "c", "d")
    ops = []
    for _ in range(OPS_PER_RUN):
        root = rng.choice(("/q", "/q", "/q", "/free"))
        path = root + "".join("/" + rng.choice(names) for _ in range(rng.choice((1, 1, 2))))
        data = b"x" * rng.choice((0, 1, 5, 20))
        kind = rng.choices(("create", "set", "delete", "limit"), weights=(5, 3, 3, 1))[0]
        if kind == "limit":
            ops.append(("limit", limits(count=rng.choice((-1, 4, 8)),
                                        bytes_=rng.choice((-1, 30, 60)),
                                        count_hard=rng.choice((-1, -1, 6, 9)),
                                        bytes_hard=rng.choice((-1, -1, 40, 80)))))
        else:
            ops.append((kind, path, data))
    return ops


def run(zk, ops):
    zk.create("/q", b"root")
    zk.create("/free")
    set_quota(zk, "/q", limits(count_hard=6, bytes_=30))
    seen = []
    for op in ops:
        if op[0] == "limit":
            result = outcome(lambda: zk.set("/zookeeper/quota/q/zookeeper_limits", op[1]))
        elif op[0] == "create":
            result = outcome(lambda: zk.create(op[1], op[2]))
        elif op[0] == "set":
            result = outcome(lambda: zk.set(op[1], op[2]))
        else:
            result = outcome(lambda: zk.delete(op[1]))
        stats, stat = zk.get("/zookeeper/quota/q/zookeeper_stats")
        seen.append((op, result, stats.decode(), stat.version, stat.dataLength))
    return seen


QUOTA_RX = re.compile(r"Quota exceeded: \S+ \[[^\]]*\]")


def quota_messages(server):
    """The quota messages of the log, a repeat in a row counted once: ZooKeeper's RateLogger
    logs a message when it changes and a repeat later as "[n times] Message: ..."."""
    found = []
    for line in server.log().splitlines():
        m = QUOTA_RX.search(line)
        if m and (not found or found[-1] != m.group(0)):
            found.append(m.group(0))
    return found


def connect(server):
    zk = KazooClient(hosts=server.hosts, timeout=10.0, command_retry={"max_tries": 0})
    zk.start(timeout=15.0)
    return zk


@pytest.mark.parametrize("enforce", [True, False], ids=["enforceQuota", "no-enforcement"])
def test_quota_matches_zookeeper(start_server, enforce):
    cfg = ENFORCE if enforce else {}
    reference = start_server("zookeeper", cfg)
    target = start_server(None, cfg)
    ops = script(seed=7 if enforce else 8)
    results = {}
    for name, server in (("zookeeper", reference), ("target", target)):
        zk = connect(server)
        try:
            results[name] = run(zk, ops)
        finally:
            zk.stop()
            zk.close()
    for i, (want, got) in enumerate(zip(results["zookeeper"], results["target"])):
        assert got == want, f"op {i}: {want[0]}"
    refused = [r for r in results["target"] if r[1] == "QuotaExceededError"]
    if enforce:
        assert refused, "the script never reached a hard limit: make it reach one"
    else:
        assert not refused
    # The log lines, in ZooKeeper's words (both rate-limit them; this run stays under
    # corral's limit). Each server logs before it answers, so the lines are all there now.
    want = quota_messages(reference)
    assert bool(want) == enforce
    assert quota_messages(target) == want


def test_refusals_are_counted_per_namespace(start_server):
    """`quota_exceeded_error_per_namespace` and the quota gauge sets in /metrics (corral's
    Prometheus endpoint)."""
    import urllib.request
    from kazoo.exceptions import QuotaExceededError
    port = servers.free_port()
    server = start_server("corral", dict(ENFORCE, **{
        "metricsProvider.className":
            "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
        "metricsProvider.httpHost": "127.0.0.1", "metricsProvider.httpPort": str(port)}))
    zk = connect(server)
    try:
        zk.create("/m")
        set_quota(zk, "/m", limits(count_hard=2))
        zk.create("/m/a")
        for name in ("/m/b", "/m/c"):
            with pytest.raises(QuotaExceededError):
                zk.create(name)
    finally:
        zk.stop()
        zk.close()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        page = r.read().decode()
    lines = page.splitlines()
    assert 'quota_exceeded_error_per_namespace{key="m",} 2.0' in lines
    # The gauges read the quota nodes: /m and /m/a counted, no byte limit (-1).
    for row in ('quota_count_limit_per_namespace{key="m",} 2.0',
                'quota_bytes_limit_per_namespace{key="m",} -1.0',
                'quota_count_usage_per_namespace{key="m",} 2.0',
                'quota_bytes_usage_per_namespace{key="m",} 0.0'):
        assert row in lines, [x for x in lines if "quota" in x]
