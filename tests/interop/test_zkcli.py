"""Debian's unmodified zkCli.sh (ZooKeeper 3.8's Java shell) against the server under test.

zkCli reads commands from stdin when it is not a terminal and runs them one at a time with the
synchronous API. After every command we send a marker, `get /zkcli-mark-N`, whose "Node does not
exist" line closes that command's output, so each command's printed lines are asserted exactly.
Watch events are printed by the client's event thread at any point; they are taken out of the
command output and checked as an ordered list.

What zkCli prints is the contract: plain data (or `null` for a node created without data),
`Created <path>`, the messages of its KeeperException wrapper, and the Stat as `name = value`
lines.

Each test gets a fresh server (the `server` fixture of conftest.py), so sequence numbers and
counts are exact."""

import os
import re
import shutil

import pytest

from lineproc import LineProcess

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
MARK = "/zkcli-mark-"
CONNECT_TIMEOUT_S = 90  # a cold JVM on two busy cores
COMMAND_TIMEOUT_S = 30
EVENT_RX = re.compile(r"^WatchedEvent state:(\S+) type:(\S+) path:(\S+)$")
NOISE = (r"^SLF4J:",)

pytestmark = pytest.mark.skipif(not os.path.exists(ZKCLI) or not shutil.which("java"),
                                reason="zkCli.sh (Debian package zookeeper) is not installed")


class ZkCli:
    """One zkCli.sh process, i.e. one ZooKeeper session (until `reconnect`)."""

    def __init__(self, server, jvm_flags=""):
        """`jvm_flags`: more system properties for the client (test_tls: its TLS settings)."""
        self.server = server
        env = dict(os.environ)
        # Client JVM: small heap, quick start. zkCli.sh passes CLIENT_JVMFLAGS to java.
        env["CLIENT_JVMFLAGS"] = "-Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC " + jvm_flags
        self.p = LineProcess([ZKCLI, "-server", server.hosts], env=env, ignore=NOISE)
        self.events = []  # (state, type, path) in arrival order, not yet taken
        self.n = 0
        self.p.expect(r"WatchedEvent state:SyncConnected type:None path:null", CONNECT_TIMEOUT_S)

    def run(self, command):
        """Runs one command; returns the lines it printed, watch events removed."""
        self.n += 1
        mark = f"{MARK}{self.n}"
        self.p.send(command)
        self.p.send(f"get {mark}")
        _, lines = self.p.expect(re.escape(mark) + "$", COMMAND_TIMEOUT_S)
        return self._strip_events(lines)

    def _strip_events(self, lines):
        out = []
        for line in lines:
            m = EVENT_RX.match(line)
            if m:
                self.events.append(m.groups())
            elif line not in ("", "WATCHER::"):
                out.append(line)
        return out

    def events_until(self, etype, path, timeout_s=COMMAND_TIMEOUT_S):
        """Waits for the event (etype, path) and returns every event up to and including it, in
        order. Events of one session arrive in order, so nothing triggered before it can come
        later."""
        deadline_lines = []
        while not any(e[1] == etype and e[2] == path for e in self.events):
            m, before = self.p.expect(EVENT_RX.pattern, timeout_s)
            deadline_lines += self._strip_events(before)
            self.events.append(m.groups())
        i = next(i for i, e in enumerate(self.events) if e[1] == etype and e[2] == path)
        taken, self.events = self.events[:i + 1], self.events[i + 1:]
        return [(t, p) for (_, t, p) in taken]

    def reconnect(self):
        """`close` then `connect`: a fresh session (no auth ids) in the same process."""
        self.p.send("close")
        self.p.expect(r"WatchedEvent state:Closed type:None", COMMAND_TIMEOUT_S)
        self.p.send(f"connect {self.server.hosts}")
        self.p.expect(r"WatchedEvent state:SyncConnected type:None path:null", COMMAND_TIMEOUT_S)

    def quit(self):
        self.p.send("quit")
        return self.p.close()


@pytest.fixture
def cli(server):
    c = ZkCli(server)
    yield c
    c.quit()


def stat_of(lines):
    """The `name = value` lines zkCli prints for a Stat, as a dict."""
    stat = {}
    for line in lines:
        k, sep, v = line.partition(" = ")
        if sep:
            stat[k] = v
    assert set(stat) >= {"cZxid", "ctime", "mZxid", "mtime", "pZxid", "cversion", "dataVersion",
                         "aclVersion", "ephemeralOwner", "dataLength", "numChildren"}, lines
    return stat


def listing(line):
    """`[a, b, c]` as a set of names."""
    assert line.startswith("[") and line.endswith("]"), line
    inner = line[1:-1]
    return set(inner.split(", ")) if inner else set()


def test_create_get_set_stat(cli):
    assert cli.run("create /zb hello") == ["Created /zb"]
    assert cli.run("create /zb again") == ["Node already exists: /zb"]
    assert cli.run("create /zb/empty") == ["Created /zb/empty"]
    assert cli.run("get /zb/empty") == ["null"]
    assert cli.run("get /zb") == ["hello"]
    assert cli.run("set /zb world") == []

    out = cli.run("get -s /zb")
    assert out[0] == "world"
    st = stat_of(out[1:])
    assert st["dataVersion"] == "1"
    assert st["numChildren"] == "1"
    assert st["cversion"] == "1"
    assert st["aclVersion"] == "0"
    assert st["dataLength"] == "5"
    assert st["ephemeralOwner"] == "0x0"
    for k in ("cZxid", "mZxid", "pZxid"):
        assert re.fullmatch(r"0x[0-9a-f]+", st[k]), (k, st[k])
    assert int(st["mZxid"], 16) > int(st["pZxid"], 16) > int(st["cZxid"], 16)

    child = stat_of(cli.run("stat /zb/empty"))
    assert child["pZxid"] == child["cZxid"] == st["pZxid"]
    assert child["dataLength"] == "0" and child["numChildren"] == "0"
    assert stat_of(cli.run("stat /zb")) == st

    assert cli.run("get /zb/missing") == ["Node does not exist: /zb/missing"]
    assert cli.run("stat /zb/missing") == ["Node does not exist: /zb/missing"]
    assert cli.run("set /zb/missing x") == ["Node does not exist: /zb/missing"]
    assert cli.run("create /zb/missing/kid x") == ["Node does not exist: /zb/missing/kid"]
    assert cli.run("set -v 7 /zb x") == ["version No is not valid : /zb"]
    assert cli.run("set -v 1 /zb v2") == []
    out = cli.run("get -s /zb")
    assert out[0] == "v2" and stat_of(out[1:])["dataVersion"] == "2"


def test_create_modes_and_listings(cli):
    assert cli.run("create /zm") == ["Created /zm"]
    assert cli.run("create -e /zm/eph edata") == ["Created /zm/eph"]
    # Sequence suffix = the parent's cversion before the create, ten digits.
    assert cli.run("create -s /zm/seq- a") == ["Created /zm/seq-0000000001"]
    assert cli.run("create -s /zm/seq- b") == ["Created /zm/seq-0000000002"]
    assert cli.run("create -c /zm/cont") == ["Created /zm/cont"]
    assert cli.run("create -t 60000 /zm/ttl tdata") == ["Created /zm/ttl"]
    assert cli.run("create -e -s /zm/es- x") == ["Created /zm/es-0000000005"]
    assert cli.run("create /zm/eph/kid") == ["Ephemerals cannot have children: /zm/eph/kid"]
    assert cli.run("create -c /zm/cont/kid") == ["Created /zm/cont/kid"]

    names = {"cont", "eph", "es-0000000005", "seq-0000000001", "seq-0000000002", "ttl"}
    assert [listing(line) for line in cli.run("ls /zm")] == [names]

    eph = stat_of(cli.run("stat /zm/eph"))
    owner = eph["ephemeralOwner"]
    assert owner != "0x0" and re.fullmatch(r"0x[0-9a-f]+", owner)
    assert stat_of(cli.run("stat /zm/es-0000000005"))["ephemeralOwner"] == owner
    # Container and TTL nodes report ephemeralOwner 0 to clients, not their internal marker.
    assert stat_of(cli.run("stat /zm/cont"))["ephemeralOwner"] == "0x0"
    assert stat_of(cli.run("stat /zm/ttl"))["ephemeralOwner"] == "0x0"
    assert cli.run("get /zm/ttl") == ["tdata"]

    out = cli.run("ls -s /zm")
    assert listing(out[0]) == names
    st = stat_of(out[1:])
    assert st["numChildren"] == "6" and st["cversion"] == "6"

    out = cli.run("ls -R /zm")
    assert out[0] == "/zm"
    assert set(out) == {"/zm", "/zm/cont/kid"} | {f"/zm/{n}" for n in names}
    assert len(out) == 8

    assert [listing(line) for line in cli.run("getEphemerals")] == [
        {"/zm/eph", "/zm/es-0000000005"}]
    assert [listing(line) for line in cli.run("getEphemerals /zm/es")] == [
        {"/zm/es-0000000005"}]
    assert cli.run("getAllChildrenNumber /zm") == ["7"]
    assert cli.run("getAllChildrenNumber /zm/eph") == ["0"]


def test_acl_and_auth(cli):
    assert cli.run("whoami") == ["Auth scheme: User", "ip: 127.0.0.1"]
    assert cli.run("addauth digest alice:secret") == []
    out = cli.run("whoami")
    assert out[0] == "Auth scheme: User" and sorted(out[1:]) == ["digest: alice", "ip: 127.0.0.1"]

    assert cli.run("create /za data") == ["Created /za"]
    assert cli.run("getAcl /za") == ["'world,'anyone", ": cdrwa"]
    assert cli.run("setAcl /za auth::cdrwa") == []
    # digest ids are user:base64(sha1(user:password))
    assert cli.run("getAcl /za") == ["'digest,'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=", ": cdrwa"]
    out = cli.run("getAcl -s /za")
    assert out[:2] == ["'digest,'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=", ": cdrwa"]
    assert stat_of(out[2:])["aclVersion"] == "1"
    assert cli.run("setAcl /za digest:bad:cdrwa") == ["Acl is not valid : /za"]
    assert cli.run("get /za") == ["data"]

    assert cli.run("create /za/ro") == ["Created /za/ro"]
    assert cli.run("setAcl /za/ro world:anyone:r") == []
    assert cli.run("set /za/ro x") == ["Insufficient permission : /za/ro"]
    assert cli.run("get /za/ro") == ["null"]
    assert cli.run("getAcl /za/ro") == ["'world,'anyone", ": r"]

    cli.reconnect()
    assert cli.run("whoami") == ["Auth scheme: User", "ip: 127.0.0.1"]
    assert cli.run("get /za") == ["Insufficient permission : /za"]
    assert cli.run("getAcl /za") == ["Insufficient permission : /za"]
    assert cli.run("create /za/kid") == ["Insufficient permission : /za/kid"]
    assert cli.run("set /za x") == ["Insufficient permission : /za"]
    assert cli.run("create /zopen") == ["Created /zopen"]
    # The auth scheme with no authenticated id in the session is an invalid ACL.
    assert cli.run("setAcl /zopen auth::cdrwa") == ["Acl is not valid : /zopen"]
    assert cli.run("addauth digest alice:wrong") == []
    assert cli.run("get /za") == ["Insufficient permission : /za"]
    assert cli.run("addauth digest alice:secret") == []
    assert cli.run("get /za") == ["data"]


def test_delete_deleteall_sync(cli):
    for path in ("/zd", "/zd/a", "/zd/a/b", "/zd/c"):
        assert cli.run(f"create {path}") == [f"Created {path}"]
    assert cli.run("delete /zd") == ["Node not empty: /zd"]
    assert cli.run("delete /zd/nope") == ["Node does not exist: /zd/nope"]
    assert cli.run("delete -v 3 /zd/c") == ["version No is not valid : /zd/c"]
    assert cli.run("delete -v 0 /zd/c") == []
    assert cli.run("sync /zd") == ["Sync is OK"]
    assert cli.run("getAllChildrenNumber /zd") == ["2"]
    assert cli.run("deleteall /zd") == []
    assert cli.run("stat /zd") == ["Node does not exist: /zd"]
    assert "zd" not in listing(cli.run("ls /")[0])
    assert "zookeeper" in listing(cli.run("ls /")[0])


def test_one_shot_watches(cli):
    assert cli.run("create /zw") == ["Created /zw"]
    assert cli.run("get -w /zw") == ["null"]
    assert cli.run("set /zw a") == []
    assert cli.run("set /zw b") == []  # the data watch was one-shot: no second event
    assert cli.run("ls -w /zw") == ["[]"]
    assert cli.run("create /zw/k") == ["Created /zw/k"]
    # An exists watch on a missing node fires on its creation.
    assert cli.run("stat -w /zw-new") == ["Node does not exist: /zw-new"]
    assert cli.run("create /zw-new") == ["Created /zw-new"]
    assert cli.events_until("NodeCreated", "/zw-new") == [
        ("NodeDataChanged", "/zw"),
        ("NodeChildrenChanged", "/zw"),
        ("NodeCreated", "/zw-new"),
    ]
    assert cli.run("get -w /zw/k") == ["null"]
    assert cli.run("removewatches /zw/k") == []
    assert cli.events_until("DataWatchRemoved", "/zw/k") == [("DataWatchRemoved", "/zw/k")]
    assert cli.run("delete /zw/k") == []
    assert cli.run("sync /zw") == ["Sync is OK"]
    assert cli.events == []


def test_persistent_watches(cli):
    assert cli.run("addWatch -m PERSISTENT /zp") == []
    # Always pass -m: zkCli's AddWatchCommand keeps the mode of its previous invocation.
    assert cli.run("addWatch -m PERSISTENT_RECURSIVE /zr") == []
    for command in ("create /zp", "set /zp a", "set /zp b", "create /zp/c", "set /zp/c x",
                    "delete /zp/c", "delete /zp",
                    "create /zr", "create /zr/a", "create /zr/a/b", "set /zr/a/b y",
                    "delete /zr/a/b", "delete /zr/a"):
        assert cli.run(command) in ([], [f"Created {command.split()[-1]}"]), command
    assert cli.events_until("NodeDeleted", "/zr/a") == [
        # PERSISTENT: data and child events of the path itself, never the child's data.
        ("NodeCreated", "/zp"),
        ("NodeDataChanged", "/zp"),
        ("NodeDataChanged", "/zp"),
        ("NodeChildrenChanged", "/zp"),
        ("NodeChildrenChanged", "/zp"),
        ("NodeDeleted", "/zp"),
        # PERSISTENT_RECURSIVE: every node under the path, no NodeChildrenChanged.
        ("NodeCreated", "/zr"),
        ("NodeCreated", "/zr/a"),
        ("NodeCreated", "/zr/a/b"),
        ("NodeDataChanged", "/zr/a/b"),
        ("NodeDeleted", "/zr/a/b"),
        ("NodeDeleted", "/zr/a"),
    ]
    # Persistent watches survive their events.
    assert cli.run("create /zp") == ["Created /zp"]
    assert cli.events_until("NodeCreated", "/zp") == [("NodeCreated", "/zp")]


def test_unknown_auth_scheme_fails_the_session(server):
    cli = ZkCli(server)
    try:
        cli.p.send("addauth nosuchscheme whatever")
        cli.p.expect(r"WatchedEvent state:AuthFailed type:None path:null", COMMAND_TIMEOUT_S)
    finally:
        cli.quit()
