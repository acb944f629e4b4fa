"""Differential test: the same seeded random operations against Apache ZooKeeper 3.8 (the
reference) and the server under test, one session each, compared op by op: the error class,
data, sorted children, Stat fields (zxids mapped to the order each server first showed them, so
only their relative order counts; times only as ctime == mtime), ACLs, multi results and the
watch events each op fires. With CORRAL_TEST_TARGET=zookeeper both sides are ZooKeeper, which
proves the comparison is deterministic.

CORRAL_DIFF_SEEDS: a count (default 6) or a comma-separated list of seeds;
CORRAL_DIFF_OPS: operations per seed (default 150)."""

import os
import random

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.protocol.serialization import (Create, Create2, Delete, Exists, GetChildren,
                                          GetData, SetData)
from kazoo.security import OPEN_ACL_UNSAFE, make_acl, make_digest_acl

import kazoo_ext as kx
import servers

NAMES = ("a", "b", "c")
MAX_DEPTH = 3
ROOT = "/t"
# Containers and TTL nodes must not be reaped mid-run: reaping is time-driven.
NO_REAPING = {"znode.container.checkIntervalMs": "3600000"}
LONG_TTL_MS = 3_600_000
ACLS = {
    "open": OPEN_ACL_UNSAFE,
    "read-only": [make_acl("world", "anyone", read=True)],
    "no-write": [make_acl("world", "anyone", read=True, create=True, delete=True)],
    "mine": [make_digest_acl("u", "p", all=True)],
    "theirs": [make_digest_acl("other", "pw", all=True), make_acl("world", "anyone", read=True)],
    "auth": [make_acl("auth", "", all=True)],
}
SPECIAL_PATHS = ("/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota")
BAD_PATHS = ("t", "/t/", "/t//a", "/t/.", "/t/..", "/t/a/./b", "/t/a\x00", "/.")


def _seeds():
    raw = os.environ.get("CORRAL_DIFF_SEEDS", "6")
    if "," in raw:
        return [int(s) for s in raw.split(",") if s]
    return list(range(1, int(raw) + 1))


OPS_PER_SEED = int(os.environ.get("CORRAL_DIFF_OPS", "150"))


# ---- operation generation (depends only on the seed) --------------------------------------

def rand_path(rng):
    if rng.random() < 0.04:
        return rng.choice(SPECIAL_PATHS)
    depth = rng.choices(range(1, MAX_DEPTH + 1), weights=(50, 35, 15))[0]
    return ROOT + "".join("/" + rng.choice(NAMES) for _ in range(depth))


def rand_version(rng):
    return rng.choice((-1, -1, 0, 0, 1, 2))


def rand_create(rng):
    mode = rng.choice(("persistent", "persistent", "ephemeral", "sequential",
                       "ephemeral-sequential", "container", "ttl", "ttl-sequential"))
    acl = rng.choice(("open",) * 3 + tuple(ACLS))
    return ("create", rand_path(rng), rng.choice((b"", b"x", b"data")), mode, acl)


def rand_sub_op(rng):
    kind = rng.choice(("create", "delete", "set", "check"))
    path = rand_path(rng)
    if kind == "create":
        return ("create", path, b"m", rng.choice((0, 1, 2, 3)))  # persistent..eph-seq
    if kind == "set":
        return ("set", path, b"ms", rand_version(rng))
    return (kind, path, rand_version(rng))


def gen_op(rng):
    r = rng.random()
    if r < 0.30:
        return rand_create(rng)
    if r < 0.35:
        return ("delete", rand_path(rng), rand_version(rng))
    if r < 0.47:
        return ("set", rand_path(rng), rng.choice((b"", b"y", b"longer-data")), rand_version(rng))
    if r < 0.57:
        return ("get", rand_path(rng), rng.random() < 0.5)
    if r < 0.65:
        return ("exists", rand_path(rng), rng.random() < 0.5)
    if r < 0.75:
        return ("children", rand_path(rng), rng.random() < 0.5, rng.random() < 0.5)
    if r < 0.79:
        return ("set_acls", rand_path(rng), rng.choice(tuple(ACLS)), rand_version(rng))
    if r < 0.83:
        return ("get_acls", rand_path(rng))
    if r < 0.93:
        return ("multi", [rand_sub_op(rng) for _ in range(rng.randint(1, 4))])
    if r < 0.96:
        return ("sync", rand_path(rng))
    return ("bad_path", rng.choice(("create", "get", "exists", "delete", "set", "children")),
            rng.choice(BAD_PATHS))


# ---- one side: a session on one server, with normalization ------------------------------

class Side:
    def __init__(self, server):
        self.server = server
        self.client = KazooClient(hosts=server.hosts, timeout=10.0,
                                  connection_retry={"max_tries": 3, "delay": 0.1},
                                  command_retry={"max_tries": 0})
        self.client.start(timeout=15)
        self.client.add_auth("digest", "u:p")
        self.session_id = self.client.client_id[0]
        self.zxids = {}
        self.events = []
        self.data_watcher = lambda e: self.events.append(("data", e.type, e.path))
        self.child_watcher = lambda e: self.events.append(("child", e.type, e.path))

    def close(self):
        try:
            self.client.stop()
        finally:
            self.client.close()

    def zxid(self, z):
        return self.zxids.setdefault(z, len(self.zxids))

    def stat(self, st):
        if st is None:
            return None
        owner = st.ephemeralOwner
        owner = "self" if owner == self.session_id else (0 if owner == 0 else "other")
        return {"czxid": self.zxid(st.czxid), "mzxid": self.zxid(st.mzxid),
                "pzxid": self.zxid(st.pzxid), "ctime==mtime": st.ctime == st.mtime,
                "version": st.version, "cversion": st.cversion, "aversion": st.aversion,
                "ephemeralOwner": owner, "dataLength": st.dataLength,
                "numChildren": st.numChildren}

    def acls(self, acls):
        return sorted((a.perms, a.id.scheme, a.id.id) for a in acls)

    def norm(self, value):
        if isinstance(value, Exception):
            return ("error", type(value).__name__)
        if hasattr(value, "czxid"):
            return ("stat", self.stat(value))
        if isinstance(value, tuple):
            return tuple(self.norm(v) for v in value)
        if isinstance(value, list):
            return [self.norm(v) for v in value]
        return value

    def run(self, op):
        try:
            result = self.norm(self._run(op))
        except KazooException as e:
            result = ("error", type(e).__name__)
        self.client.sync("/")  # ordered after this op: its watch events arrive first
        assert kx.callbacks_drained(self.client), "kazoo callback thread stuck"
        events, self.events = self.events, []
        return {"result": result, "events": events}

    def _run(self, op):
        c = self.client
        kind = op[0]
        if kind == "create":
            _, path, data, mode, acl = op
            acl = ACLS[acl]
            if mode == "container":
                return kx.call(c, kx.CreateContainer(path, data, acl, kx.CREATE_FLAG_CONTAINER))
            if mode in ("ttl", "ttl-sequential"):
                flags = (kx.CREATE_FLAG_PERSISTENT_WITH_TTL if mode == "ttl"
                         else kx.CREATE_FLAG_PERSISTENT_SEQUENTIAL_WITH_TTL)
                return kx.call(c, kx.CreateTTL(path, data, acl, flags, LONG_TTL_MS))
            flags = {"persistent": 0, "ephemeral": 1, "sequential": 2,
                     "ephemeral-sequential": 3}[mode]
            return kx.call(c, Create2(path, data, acl, flags))
        if kind == "delete":
            return c.delete(op[1], version=op[2])
        if kind == "set":
            return c.set(op[1], op[2], version=op[3])
        if kind == "get":
            return c.get(op[1], watch=self.data_watcher if op[2] else None)
        if kind == "exists":
            return c.exists(op[1], watch=self.data_watcher if op[2] else None)
        if kind == "children":
            _, path, watch, with_stat = op
            got = c.get_children(path, watch=self.child_watcher if watch else None,
                                 include_data=with_stat)
            return (sorted(got[0]), got[1]) if with_stat else sorted(got)
        if kind == "set_acls":
            return c.set_acls(op[1], ACLS[op[2]], version=op[3])
        if kind == "get_acls":
            acls, st = c.get_acls(op[1])
            return (self.acls(acls), st)
        if kind == "multi":
            t = c.transaction()
            for sub in op[1]:
                if sub[0] == "create":
                    t.create(sub[1], sub[2], ephemeral=bool(sub[3] & 1),
                             sequence=bool(sub[3] & 2))
                elif sub[0] == "set":
                    t.set_data(sub[1], sub[2], version=sub[3])
                elif sub[0] == "delete":
                    t.delete(sub[1], version=sub[2])
                else:
                    t.check(sub[1], sub[2])
            return t.commit()
        if kind == "sync":
            return c.sync(op[1])
        if kind == "bad_path":
            _, what, path = op
            request = {"create": lambda: Create(path, b"", OPEN_ACL_UNSAFE, 0),
                       "get": lambda: GetData(path, None),
                       "exists": lambda: Exists(path, None),
                       "delete": lambda: Delete(path, -1),
                       "set": lambda: SetData(path, b"", -1),
                       "children": lambda: GetChildren(path, None)}[what]()
            return kx.call(c, request)
        raise AssertionError(f"unknown op {op!r}")

    def snapshot(self, limit=2000):
        """Every node under "/" with data, Stat and ACL, in path order (bounded)."""
        out, todo = {}, ["/"]
        while todo and len(out) < limit:
            path = todo.pop()
            try:
                data, st = self.client.get(path)
                acls, _ = self.client.get_acls(path)
                kids = self.client.get_children(path)
            except KazooException as e:
                out[path] = ("error", type(e).__name__)
                continue
            out[path] = (data, self.stat(st), self.acls(acls))
            todo.extend(path.rstrip("/") + "/" + k for k in kids)
        return dict(sorted(out.items()))


def _describe(op):
    return repr(op)


@pytest.mark.parametrize("seed", _seeds())
def test_same_results_as_zookeeper(start_server, seed):
    rng = random.Random(seed)
    ops = [gen_op(rng) for _ in range(OPS_PER_SEED)]
    reference = Side(start_server("zookeeper", NO_REAPING))
    candidate = Side(start_server(servers.target_kind(), NO_REAPING))
    try:
        history = []
        for side in (reference, candidate):
            side.run(("create", ROOT, b"", "persistent", "open"))
        for i, op in enumerate(ops):
            want, got = reference.run(op), candidate.run(op)
            history.append(f"  #{i} {_describe(op)} -> {want['result']!r}")
            if want != got:
                pytest.fail(
                    f"seed {seed}, op #{i}: {_describe(op)}\n"
                    f"  zookeeper: {want!r}\n  {candidate.server.kind}: {got!r}\n"
                    f"last ops (ZooKeeper results):\n" + "\n".join(history[-8:]),
                    pytrace=False)
        want, got = reference.snapshot(), candidate.snapshot()
        if want != got:
            diff = {p: (want.get(p), got.get(p)) for p in sorted(set(want) | set(got))
                    if want.get(p) != got.get(p)}
            pytest.fail(f"seed {seed}: final trees differ at {len(diff)} paths: "
                        + "\n".join(f"  {p}: zookeeper={a!r} other={b!r}"
                                    for p, (a, b) in list(diff.items())[:10]), pytrace=False)
    finally:
        reference.close()
        candidate.close()
