"""Debian's ZooKeeper C client (package zookeeper-bin: cli_mt and load_gen, built on
libzookeeper-mt 3.8) against the server under test.

cli_mt reads commands from stdin and sends most of them asynchronously; completions and watch
events are printed to stderr by the client's completion thread, in the order the server's replies
and notifications arrive. After every command we send a marker, `get /cmark-N` (a missing node,
rc = -101), whose completion closes that command's output: replies of one session come back in
request order, so everything the command printed comes before it.

Each test gets a fresh server (the `server` fixture of conftest.py)."""

import os
import re

import pytest

from lineproc import LineProcess

BIN_DIR = "/usr/lib/zookeeper/bin"
CLI_MT = os.path.join(BIN_DIR, "cli_mt")
LOAD_GEN = os.path.join(BIN_DIR, "load_gen")
CONNECT_TIMEOUT_S = 20
COMMAND_TIMEOUT_S = 20
LOAD_GEN_CYCLES = 5
EVENT_RX = re.compile(r"^Watcher (\w+) state = (\w+)(?: for path (\S+))?$")
# The library's own log lines ("2026-01-01 00:00:00,000:pid(0x..):ZOO_INFO@fn@line: ...").
LIB_LOG_RX = re.compile(r":ZOO_(ERROR|WARN|INFO|DEBUG)@")

# C client return codes (zookeeper.h, ZOO_ERRORS)
ZOK, ZNONODE, ZNODEEXISTS, ZNOTEMPTY, ZNOCHILDRENFOREPHEMERALS = 0, -101, -110, -111, -108

pytestmark = pytest.mark.skipif(not os.access(CLI_MT, os.X_OK),
                                reason="cli_mt (Debian package zookeeper-bin) is not installed")


class CliMt:
    """One cli_mt process: one session."""

    def __init__(self, hosts, readonly=False):
        self.p = LineProcess([CLI_MT, "-h", hosts] + (["-r"] if readonly else []))
        m, _ = self.p.expect(r"^Watcher SESSION_EVENT state = (\w+)$", CONNECT_TIMEOUT_S)
        self.connected_state = m.group(1)
        m, _ = self.p.expect(r"^Got a new session id: 0x([0-9a-f]+)$", CONNECT_TIMEOUT_S)
        self.session_id = m.group(1)
        self.events = []  # (type, state, path) in arrival order, not yet taken
        self.n = 0

    def run(self, command):
        """Runs one command; returns its output lines, stripped, without timing lines, library
        log lines and watch events (which go to `events`)."""
        self.n += 1
        mark = f"/cmark-{self.n}"
        self.p.send(command)
        self.p.send(f"get {mark}")
        _, lines = self.p.expect(f"^{re.escape(mark)}: rc = {ZNONODE}$", COMMAND_TIMEOUT_S)
        self.p.expect(r"^null$", COMMAND_TIMEOUT_S)  # the marker's "Stat:" then "null"
        out = []
        for line in lines:
            line = line.strip()
            m = EVENT_RX.match(line)
            if m:
                self.events.append(m.groups())
            elif line and not line.startswith("time = ") and not LIB_LOG_RX.search(line):
                out.append(line)
        return out

    def wait_event(self, etype, path, timeout_s=COMMAND_TIMEOUT_S):
        """Waits for a watch event and returns every event up to and including it."""
        def found():
            return next((i for i, e in enumerate(self.events)
                         if e[0] == etype and e[2] == path), None)
        while found() is None:
            m, _ = self.p.expect(EVENT_RX.pattern, timeout_s)
            self.events.append(m.groups())
        i = found()
        taken, self.events = self.events[:i + 1], self.events[i + 1:]
        return [(t, p) for (t, _, p) in taken]

    def quit(self):
        self.p.send("quit")
        return self.p.close()


@pytest.fixture
def make_cli(server):
    clis = []

    def make(readonly=False):
        c = CliMt(server.hosts, readonly)
        clis.append(c)
        return c

    yield make
    for c in clis:
        if c.p.proc.poll() is None:
            c.quit()


def stat_of(lines):
    """cli_mt's dumpStat lines (`ctime = ...`, `czxid=1f`, `version=0\taversion=0`, ...)."""
    stat = {}
    for line in lines:
        for part in line.split("\t"):
            k, sep, v = part.partition("=")
            if sep and k.strip() in ("ctime", "czxid", "mtime", "mzxid", "version", "aversion",
                                     "ephemeralOwner"):
                stat[k.strip()] = v.strip()
    assert len(stat) == 7, lines
    return stat


def created(path, mode, name=None):
    return [f"Creating [{path}] node (mode: {mode})", f"[{path}]: rc = {ZOK}",
            f"name = {name or path}"]


def test_crud_and_one_shot_watches(make_cli):
    cli = make_cli()
    assert cli.run("create /c1") == created("/c1", 0)
    assert cli.run("create /c1") == ["Creating [/c1] node (mode: 0)", f"[/c1]: rc = {ZNODEEXISTS}"]

    out = cli.run("get /c1")  # cli_mt's get always sets a data watch
    assert out[:4] == [f"/c1: rc = {ZOK}", "value_len = 3", "new", "Stat:"]
    st = stat_of(out[4:])
    assert st["version"] == "0" and st["aversion"] == "0" and st["ephemeralOwner"] == "0"
    assert st["czxid"] == st["mzxid"]

    out = cli.run("set /c1 hello")
    assert out[0] == f"/c1: rc = {ZOK} Stat:"
    st1 = stat_of(out[1:])
    assert st1["version"] == "1" and st1["czxid"] == st["czxid"]
    assert int(st1["mzxid"], 16) > int(st["mzxid"], 16)
    assert cli.wait_event("CHANGED_EVENT", "/c1") == [("CHANGED_EVENT", "/c1")]

    out = cli.run("get /c1")
    assert out[:4] == [f"/c1: rc = {ZOK}", "value_len = 5", "hello", "Stat:"]
    assert stat_of(out[4:]) == st1

    assert cli.run("ls /c1") == [f"/c1: rc = {ZOK}"]  # sets a child watch
    out = cli.run("create2 /c1/two")
    assert out[:3] == created("/c1/two", 0)
    st2 = stat_of(out[3:])
    assert st2["version"] == "0" and st2["czxid"] == st2["mzxid"]
    assert int(st2["czxid"], 16) > int(st1["mzxid"], 16)
    assert cli.wait_event("CHILD_EVENT", "/c1") == [("CHILD_EVENT", "/c1")]
    assert cli.run("create /c1/one") == created("/c1/one", 0)

    out = cli.run("ls /c1")
    assert out[0] == f"/c1: rc = {ZOK}" and sorted(out[1:]) == ["one", "two"]
    out = cli.run("ls2 /c1")
    assert out[0] == f"/c1: rc = {ZOK}" and sorted(out[1:3]) == ["one", "two"]
    assert stat_of(out[3:]) == st1

    assert cli.run("delete /c1") == [f"/c1: rc = {ZNOTEMPTY}"]
    assert cli.run("exists /c1/two") == []  # synchronous; prints only errors; sets a watch
    assert cli.run("exists /c1/nope") == [f"Error {ZNONODE} for /c1/nope"]
    assert cli.run("get /c1/nope") == [f"/c1/nope: rc = {ZNONODE}", "Stat:", "null"]
    assert cli.run("set /c1/nope x") == [f"/c1/nope: rc = {ZNONODE} Stat:", "null"]
    assert cli.run("sync /c1") == [f"[/c1]: rc = {ZOK}", "name = /c1"]

    assert cli.run("delete /c1/one") == [f"/c1/one: rc = {ZOK}"]
    assert cli.run("delete /c1/two") == [f"/c1/two: rc = {ZOK}"]
    assert cli.run("delete /c1") == [f"/c1: rc = {ZOK}"]
    # The child watch (set by ls/ls2) fires once, on the first delete; the exists watch on
    # /c1/two and the data watch from the last get of /c1 fire on their deletes.
    assert cli.wait_event("DELETED_EVENT", "/c1") == [
        ("CHILD_EVENT", "/c1"), ("DELETED_EVENT", "/c1/two"), ("DELETED_EVENT", "/c1")]
    assert cli.run("exists /c1") == [f"Error {ZNONODE} for /c1"]


def test_create_modes_and_ephemerals_end_with_the_session(make_cli):
    cli = make_cli()
    assert cli.run("create /m") == created("/m", 0)
    assert cli.run("create +e /m/e") == created("/m/e", 1)
    assert cli.run("create +s /m/s-") == created("/m/s-", 2, "/m/s-0000000001")
    assert cli.run("create +c /m/cont") == created("/m/cont", 4)
    assert cli.run("create +t=60000 /m/ttl") == created("/m/ttl", 5)
    assert cli.run("create +es /m/es-") == created("/m/es-", 3, "/m/es-0000000004")
    assert cli.run("create /m/cont/kid") == created("/m/cont/kid", 0)
    assert cli.run("create /m/e/kid") == ["Creating [/m/e/kid] node (mode: 0)",
                                          f"[/m/e/kid]: rc = {ZNOCHILDRENFOREPHEMERALS}"]

    assert stat_of(cli.run("get /m/e")[4:])["ephemeralOwner"] == cli.session_id
    assert stat_of(cli.run("get /m/es-0000000004")[4:])["ephemeralOwner"] == cli.session_id
    assert stat_of(cli.run("get /m/cont")[4:])["ephemeralOwner"] == "0"
    assert stat_of(cli.run("get /m/ttl")[4:])["ephemeralOwner"] == "0"
    out = cli.run("ls /m")
    assert sorted(out[1:]) == ["cont", "e", "es-0000000004", "s-0000000001", "ttl"]
    assert cli.quit() == 0  # zookeeper_close: the session ends and its ephemerals go

    other = make_cli()
    assert other.session_id != cli.session_id
    out = other.run("ls /m")
    assert out[0] == f"/m: rc = {ZOK}" and sorted(out[1:]) == ["cont", "s-0000000001", "ttl"]


def test_exists_watch_on_a_missing_node(make_cli):
    cli = make_cli()
    assert cli.run("wexists /w") == [f"Error {ZNONODE} for /w"]
    other = make_cli()
    assert other.run("create /w") == created("/w", 0)
    assert cli.wait_event("CREATED_EVENT", "/w") == [("CREATED_EVENT", "/w")]


def test_config_node(make_cli):
    cli = make_cli()
    out = cli.run("config")  # getConfig reads /zookeeper/config, here a standalone server's
    assert out[0] == f"/zookeeper/config: rc = {ZOK}"
    assert out[1].startswith("value_len = ")


def test_read_only_flag_on_a_read_write_server(make_cli):
    # A client that allows read-only mode (ConnectRequest.readOnly = true) still gets an
    # ordinary read-write session from a server that is part of a quorum.
    cli = make_cli(readonly=True)
    assert cli.connected_state == "CONNECTED_STATE"  # not READONLY_STATE
    assert cli.run("create /ro") == created("/ro", 0)
    assert cli.run("set /ro x")[0] == f"/ro: rc = {ZOK} Stat:"


def test_digest_auth_then_unknown_scheme_fails_the_session(make_cli):
    cli = make_cli()
    assert cli.run("addauth digest alice:secret") == []
    assert cli.run("create /auth") == created("/auth", 0)
    cli.p.send("addauth nosuchscheme whatever")
    cli.p.expect(r"^Watcher SESSION_EVENT state = AUTH_FAILED_STATE$", COMMAND_TIMEOUT_S)
    cli.p.expect(r"^Authentication failure\. Shutting down\.\.\.$", COMMAND_TIMEOUT_S)


@pytest.mark.skipif(not os.access(LOAD_GEN, os.X_OK), reason="load_gen is not installed")
def test_load_gen(server):
    """load_gen loops create-children / write / read / delete cycles until stopped; then its
    `clean` mode deletes the subtree recursively."""
    gen = LineProcess([LOAD_GEN, server.hosts, "/lg", "20"])
    try:
        for _ in range(LOAD_GEN_CYCLES):
            gen.expect(r"ZOO_INFO@main@\d+: Starting the delete cycle for path /lg$", 60)
    finally:
        gen.proc.terminate()
        gen.close()
    assert not [l for l in gen.transcript if "ZOO_ERROR" in l or "ZOO_WARN" in l], gen.transcript

    # Stopped at any point of a cycle; make sure there is a /lg to clean whatever it left.
    setup = LineProcess([CLI_MT, "-h", server.hosts])
    setup.expect(r"^Got a new session id", CONNECT_TIMEOUT_S)
    setup.send("create /lg")
    setup.expect(rf"^\[/lg\]: rc = ({ZOK}|{ZNODEEXISTS})$", COMMAND_TIMEOUT_S)
    setup.send("quit")
    setup.close()

    clean = LineProcess([LOAD_GEN, server.hosts, "/lg", "clean"])
    clean.expect(r"Successfully deleted a subtree starting at /lg \(\d+ nodes\)", 60)
    assert clean.close() == 0
