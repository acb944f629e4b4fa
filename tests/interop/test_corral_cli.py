"""`corral cli` (zkCli.sh-compatible command line) against Debian's unmodified zkCli.sh.

The same scripted session runs through zkCli.sh and through `corral cli` (stdin piped, and
command by command as one-shot runs) against the same server, each under its own prefix; the
outputs must be equal once what legitimately differs is normalised: the prefix, timestamps,
zxids and session ids. After every command a marker `get /clicmp-mark-N` (whose "Node does not
exist" line closes that command's output) splits the transcript into per-command outputs, so a
mismatch names its command. Watch events are compared as a list of (type, path).

Runs against corral by default, or Apache ZooKeeper with CORRAL_TEST_TARGET=zookeeper: the
corral binary is a client of either."""

import os
import re
import shutil
import subprocess

import pytest

import servers

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
MARK = "/clicmp-mark-"
ZKCLI_TIMEOUT_S = 120  # a cold JVM on two busy cores
CLI_TIMEOUT_S = 30
EVENT_RX = re.compile(r"^WatchedEvent state:(\S+) type:(\S+) path:(\S+)$")

needs_corral = pytest.mark.skipif(not os.path.exists(servers.CORRAL_BIN),
                                  reason=f"no corral binary at {servers.CORRAL_BIN}")
needs_zkcli = pytest.mark.skipif(not os.path.exists(ZKCLI) or not shutil.which("java"),
                                 reason="zkCli.sh (Debian package zookeeper) is not installed")

# The commands scripts parse: ls, get, stat, create, set, delete, getAcl and their errors.
# `P` is replaced by each client's own prefix.
SCRIPT = """\
create P hello
create P again
create P/a adata
create P/empty
create -s P/seq- x
create -s P/seq- y
create -e P/eph e
create -c P/cont
create -t 60000 P/ttl t
create -e -s P/es- z
create P/missing/kid
create P/eph/kid
get P/a
get P/empty
get -s P/a
get P/missing
get
get P/a -x
set P/a changed
set -s P/a again
set -v 99 P/a nope
set -v 2 P/a v3
set P/missing x
stat P/a
stat P/missing
stat P/eph
ls P
ls -s P
ls -R P
ls P/missing
ls
getAcl P/a
getAcl -s P/a
setAcl P/a world:anyone:rw
getAcl P/a
setAcl P/a digest:bad:cdrwa
getAcl P/missing
setAcl -s P/cont world:anyone:cdrwa
get -w P/a
set P/a w1
ls -w P
create P/w
stat -w P/nope
create P/nope
addWatch -m PERSISTENT P/pw
create P/pw
set P/pw pw1
delete P/pw
create P/rw
get -w P/rw
removewatches P/rw
delete P
delete P/missing
delete -v 9 P/empty
delete -v 0 P/empty
getAllChildrenNumber P
getEphemerals P
sync P
whoami
create bad-path
get P/
deleteall P/cont
deleteall P/missing
ls P
config
config -s
reconfig -remove 3
reconfig
printwatches
addWatch P/x y
redo 0
redo 9999
nosuchcommand x
"""


def script_lines(prefix):
    return [re.sub(r"(?<= )P(?=/| |$)", prefix, line) for line in SCRIPT.splitlines()]


def with_markers(lines):
    out = []
    for i, line in enumerate(lines):
        out += [line, f"get {MARK}{i}"]
    return out


def normalise(line, prefix):
    line = line.replace(prefix, "/P")
    line = re.sub(r"^(ctime|mtime) = .*", r"\1 = T", line)
    line = re.sub(r"^(cZxid|mZxid|pZxid) = 0x[0-9a-f]+$", r"\1 = Z", line)
    line = re.sub(r"^ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*$", "ephemeralOwner = S", line)
    if line.startswith("[") and line.endswith("]") and len(line) > 2:
        # getEphemerals lists in the server's order, which may follow the paths' hashes.
        line = "[" + ", ".join(sorted(line[1:-1].split(", "))) + "]"
    return line


def split_transcript(text, prefix, n):
    """Per-command outputs (normalised; events, blank lines and banners dropped) and the
    events (type, path) in order."""
    outputs, events, current = [], [], []
    for raw in text.splitlines():
        line = raw.rstrip("\n")
        m = EVENT_RX.match(line)
        if m:
            if m.group(2) != "None":
                events.append((m.group(2), m.group(3).replace(prefix, "/P")))
            continue
        if line in ("", "WATCHER::") or line.startswith(("SLF4J:", "Connecting to ",
                                                         "Welcome to ZooKeeper!",
                                                         "JLine support")):
            continue
        if line.startswith("Node does not exist: " + MARK):
            outputs.append(current)
            current = []
            continue
        current.append(normalise(line, prefix))
    assert len(outputs) == n, f"expected {n} command outputs, got {len(outputs)}:\n{text}"
    return outputs, events


def run_zkcli(server, lines):
    env = dict(os.environ, CLIENT_JVMFLAGS="-Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
    p = subprocess.run([ZKCLI, "-server", server.hosts], input="\n".join(lines) + "\n",
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                       timeout=ZKCLI_TIMEOUT_S)
    return p.stdout


def corral_cli(server, *args, stdin=None):
    p = subprocess.run([servers.CORRAL_BIN, "cli", "-server", server.hosts, *args],
                       input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=CLI_TIMEOUT_S)
    return p.returncode, p.stdout, p.stderr


def run_corral_piped(server, lines):
    p = subprocess.run([servers.CORRAL_BIN, "cli", "-server", server.hosts],
                       input="\n".join(lines) + "\n", stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=CLI_TIMEOUT_S)
    return p.stdout


@needs_corral
@needs_zkcli
def test_scripted_session_matches_zkcli(server):
    lines = script_lines("/clizk")
    zk_out, zk_events = split_transcript(run_zkcli(server, with_markers(lines)), "/clizk",
                                         len(lines))
    rs_lines = script_lines("/clirs")
    rs_out, rs_events = split_transcript(run_corral_piped(server, with_markers(rs_lines)),
                                         "/clirs", len(rs_lines))
    for cmd, want, got in zip(SCRIPT.splitlines(), zk_out, rs_out):
        assert got == want, f"{cmd!r}: zkCli printed {want}, corral cli printed {got}"
    assert sorted(rs_events) == sorted(zk_events)
    # The events the script triggers, so that an empty list on both sides is no pass.
    assert ("NodeDataChanged", "/P/a") in rs_events
    assert ("DataWatchRemoved", "/P/rw") in rs_events

    # The one-shot form prints each command's output the same way (the events are the
    # session's, and each one-shot run is a new session: those commands are left out).
    os_lines = script_lines("/clios")
    # Left out: watches, and what depends on the ephemerals, gone with each one-shot session.
    skip = ("get -w", "ls -w", "stat -w", "addWatch", "removewatches", "stat P/eph",
            "create P/eph/kid", "getEphemerals", "ls P", "ls -s P", "ls -R P",
            "getAllChildrenNumber", "redo 0")
    for i, (cmd, line) in enumerate(zip(SCRIPT.splitlines(), os_lines)):
        if cmd.startswith(skip):
            continue
        rc, out, err = corral_cli(server, *split_words(line))
        got = [normalise(x, "/clios") for x in (out + err).splitlines()
               if x and x != "WATCHER::" and not EVENT_RX.match(x)
               and not x.startswith("Connecting to ")]
        assert sorted(got) == sorted(zk_out[i]), f"one-shot {cmd!r}: {got} != {zk_out[i]}"
        want_rc = 127 if cmd.startswith("nosuch") else (1 if zk_out[i] and is_error(
            zk_out[i][-1]) else 0)
        assert rc == want_rc, f"one-shot {cmd!r} exited {rc}: {out}{err}"


def split_words(line):
    return line.split(" ")


ERRORS = ("Node does not exist", "Node already exists", "Node not empty", "version No is not",
          "Acl is not valid", "Insufficient permission", "Ephemerals cannot",
          "Path must", "Invalid path", "org.apache.commons.cli", "get [-s]", "ls [-s]",
          "KeeperErrorCode", "reconfig [-s]", "addWatch [-m", "Command index out of range")


def is_error(line):
    return line.startswith(ERRORS)


@needs_corral
@needs_zkcli
def test_one_shot_exit_status_and_streams_match_zkcli(server):
    assert corral_cli(server, "create", "/clix", "v")[0] == 0
    env = dict(os.environ, CLIENT_JVMFLAGS="-Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
    for args in (["get", "/clix"], ["get", "/clix-missing"]):
        zk = subprocess.run([ZKCLI, "-server", server.hosts, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, timeout=ZKCLI_TIMEOUT_S)
        rc, out, err = corral_cli(server, *args)
        assert rc == zk.returncode, (args, zk.stdout, zk.stderr)
        assert out.splitlines()[-1] == zk.stdout.splitlines()[-1]
        assert [x for x in err.splitlines() if "Node" in x] == \
            [x for x in zk.stderr.splitlines() if "Node" in x]


@needs_corral
def test_one_shot_basics(server):
    assert corral_cli(server, "create", "/os", "data") == (0, f"Connecting to {server.hosts}\n"
                                                              "\nWATCHER::\n\nWatchedEvent state:"
                                                              "SyncConnected type:None path:null\n",
                                                           "Created /os\n")
    rc, out, err = corral_cli(server, "get", "-s", "/os")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    i = lines.index("data")
    assert lines[i + 7] == "dataVersion = 0" and lines[i + 10] == "dataLength = 4"
    assert corral_cli(server, "get", "/nope")[0::2] == (1, "Node does not exist: /nope\n")
    rc, _, err = corral_cli(server, "frob")
    assert rc == 127 and err.endswith("Command not found: Command not found frob\n")
    rc, out, _ = corral_cli(server, "ls", "/")
    assert rc == 0 and out.splitlines()[-1].startswith("[") and "os" in out


@needs_corral
def test_piped_history_redo_and_close(server):
    out = run_corral_piped(server, ["create /h one", "set /h two", "get /h", "history",
                                    "redo 2", "close", "get /h", f"connect {server.hosts}",
                                    "get /h", "quit"])
    lines = [x for x in out.splitlines() if x and x != "WATCHER::"]
    assert "0 - create /h one" in lines and "2 - get /h" in lines and "3 - history" in lines
    assert lines.count("two") == 3, lines
    assert "Not connected" in lines
    assert "WatchedEvent state:Closed type:None path:null" in lines
    assert lines.count("WatchedEvent state:SyncConnected type:None path:null") == 2


@needs_corral
def test_election_queue(server, make_client):
    candidates = [make_client() for _ in range(3)]
    for c in candidates:
        c.create("/elect/n_", b"", ephemeral=True, sequence=True, makepath=True)
    names = sorted(candidates[0].get_children("/elect"))

    def queue():
        rc, out, err = corral_cli(server, "election", "/elect")
        assert rc == 0, err
        rows = [line.split() for line in out.splitlines()[1:]]
        return out.splitlines()[0], rows

    head, rows = queue()
    assert head == "election /elect: 3 candidates"
    assert [r[0] for r in rows] == ["leader", "next", "waiting"]
    assert [r[1] for r in rows] == names
    for r, c in zip(rows, candidates):  # sequence order is creation order
        assert r[3] == hex(c.client_id[0])
        assert r[5] == hex(c.exists(f"/elect/{r[1]}").czxid)

    candidates[0].stop()  # the leader leaves: its ephemeral goes with its session
    head, rows = queue()
    assert head == "election /elect: 2 candidates"
    assert [(r[0], r[1]) for r in rows] == [("leader", names[1]), ("next", names[2])]

    rc, _, err = corral_cli(server, "election", "/no-election")
    assert rc == 1 and err == "Node does not exist: /no-election\n"
