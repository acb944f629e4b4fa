"""Starts replicated ensembles: corral members, or Apache ZooKeeper 3.8 quorum peers (Debian's
package) as the reference. Both read the same zoo.cfg: every member gets its own directory with
a zoo.cfg naming all members (`server.N=` lines), its own clientPort, and a dataDir holding
`myid`. By default (LOOPBACK) members listen on free ports of 127.0.0.1 below the kernel's
ephemeral range (see member_port); a `net` can instead run each member behind a command prefix
(e.g. `ip netns exec NS`) on its own addresses, as test_partition.py does. The harness of the
ensemble tests and of scripts/bench_failover.py (which asks for ZK_BENCH_JVM: fsync on).

A member's state comes from the `srvr` four-letter word: `Mode: leader|follower|observer`, or
`This ZooKeeper instance is not currently serving requests` while it has no quorum."""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from kazoo.client import KazooClient

import servers
import zkwire

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
POLL_S = 0.1
# A quorum peer loads two more jars than a standalone server, both named by zookeeper.jar's
# manifest: metrics-core (the quorum's metrics) and snappy-java (the snapshot stream classes
# the leader uses to send a snapshot). Listed so the classpath says what the JVM runs with.
ZK_QUORUM_CLASSPATH = servers.ZK_CLASSPATH + ":" + ":".join(
    f"{servers.ZK_JARS}/{j}.jar" for j in ("metrics-core", "snappy-java"))
NOT_SERVING = "This ZooKeeper instance is not currently serving requests"
MODES = ("leader", "follower", "observer", "standalone")
FOUR_LETTER_NOISE = re.compile(r"Processing (srvr|cons) command from")
# zoo.cfg keys ZooKeeper reads only as Java system properties (corral reads them from zoo.cfg).
ZK_SYSTEM_PROPERTIES = {"snapCount": "zookeeper.snapCount",
                        **{k: k for k in servers.ZK_SYSTEM_PROPERTY_KEYS}}
# As servers.start_zookeeper: a quick JVM start. No fsync: SIGKILL ends the process, not the
# machine, so whatever was written is still in the page cache.
# ZooKeeper's election waits up to maxNotificationInterval (60 s by default, doubling from
# 200 ms) between rounds of notifications while it hears nothing; a member that waited out a
# lost quorum could then take up to a minute to notice a restarted peer.
ZK_TEST_JVM = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
               "-Dzookeeper.forceSync=no", "-Dzookeeper.fastleader.maxNotificationInterval=2000"]
# What the benchmarks use (bench-lib.sh): default GC, JIT and election backoff, fsync on.
ZK_BENCH_JVM = ["-Xmx4g", "-Dzookeeper.forceSync=yes"]


def srvr(port, timeout_s=3.0, host="127.0.0.1"):
    """The `srvr` output of the member on `host`:`port`, or None when it does not answer
    (dead, still starting, or closing the connection without a word)."""
    try:
        return zkwire.four_letter(port, "srvr", timeout_s=timeout_s, host=host)
    except OSError:
        return None


def parse_mode(out):
    """'leader', 'follower', 'observer', 'standalone', or None when not serving."""
    if not out or NOT_SERVING in out:
        return None
    m = re.search(r"^Mode: (\w+)$", out, re.M)
    return m.group(1) if m and m.group(1) in MODES else None


def parse_zxid(out):
    m = re.search(r"^Zxid: 0x([0-9a-fA-F]+)$", out or "", re.M)
    return int(m.group(1), 16) if m else None


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


_taken = set()


def member_port():
    """A free port of 127.0.0.1 below the kernel's ephemeral range. A member's ports stay
    reserved while it is dead between a kill and its restart: a port from the ephemeral range
    could meanwhile become the source port of an outgoing connection (the harness opens one
    per `srvr`, clients keep reconnecting), or a connection to the dead port could connect
    to itself, and the restarted member could not bind it."""
    low, _ = _ephemeral_range()
    if low <= 11000:
        return servers.free_port()
    for _ in range(1000):
        port = random.randrange(10000, low)
        if port in _taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _taken.add(port)
        return port
    raise RuntimeError(f"no free port found in 10000-{low}")


def summary(states):
    """{id: (mode, zxid in hex)} of `states` ({id: Member.state()}), for messages."""
    return {sid: (mode, zxid and hex(zxid)) for sid, (mode, zxid) in states.items()}


class Loopback:
    """Where members run unless told otherwise: in this network namespace (no command
    prefix), all on 127.0.0.1, each on its own ports. A `net` given to Ensemble answers the
    same four questions per member id."""

    def prefix(self, sid):
        return ()

    def peer_ip(self, sid):
        return "127.0.0.1"

    def client_ip(self, sid):
        return "127.0.0.1"

    def ports(self, sid):
        """(client, peer, election) ports: one address, so each member needs its own."""
        return member_port(), member_port(), member_port()


LOOPBACK = Loopback()


class Member:
    """One member of an ensemble: `id` (its myid), `client_ip` and `port` (client), `host`
    (both, for a connect string), `peer_ip`, `peer_port`, `election_port`, `workdir`; it runs
    until kill() or stop()."""

    def __init__(self, ensemble, sid, observer, net):
        self.ensemble = ensemble
        self.kind = ensemble.kind
        self.id = sid
        self.observer = observer
        self.prefix = tuple(net.prefix(sid))
        self.peer_ip, self.client_ip = net.peer_ip(sid), net.client_ip(sid)
        self.port, self.peer_port, self.election_port = net.ports(sid)
        self.workdir = os.path.join(ensemble.workdir, f"member-{sid}")
        self.data_dir = os.path.join(self.workdir, "data")
        self.cfg_path = os.path.join(self.workdir, "zoo.cfg")
        self.log_path = os.path.join(self.workdir, "server.log")
        self.host = f"{self.client_ip}:{self.port}"
        self.proc = None

    def __repr__(self):
        return f"<{self.kind} member {self.id} on {self.port}>"

    def server_line(self):
        role = "observer" if self.observer else "participant"
        return (f"server.{self.id}={self.peer_ip}:{self.peer_port}:{self.election_port}:{role}"
                f";{self.client_ip}:{self.port}")

    def write_config(self, server_lines, extra_cfg):
        os.makedirs(self.data_dir, exist_ok=True)
        with open(os.path.join(self.data_dir, "myid"), "w") as f:
            f.write(f"{self.id}\n")
        cfg = {
            "tickTime": "2000",
            "initLimit": "10",
            "syncLimit": "5",
            "dataDir": self.data_dir,
            "clientPort": str(self.port),
            "clientPortAddress": self.client_ip,
            "4lw.commands.whitelist": "*",
            "admin.enableServer": "false",
            "maxClientCnxns": "0",
        }
        if self.observer:
            cfg["peerType"] = "observer"
        # A callable value is a per-member one: called with the member.
        cfg.update({k: v(self) if callable(v) else v for k, v in (extra_cfg or {}).items()})
        with open(self.cfg_path, "w") as f:
            for k, v in cfg.items():
                f.write(f"{k}={v}\n")
            for line in server_lines:
                f.write(line + "\n")

    def _command(self):
        ens = self.ensemble
        if self.kind == "corral":
            return [*self.prefix, ens.corral_bin, "server", "--config", self.cfg_path]
        props = [f"-D{ZK_SYSTEM_PROPERTIES[k]}={v}"
                 for k, v in ens.extra_cfg.items() if k in ZK_SYSTEM_PROPERTIES]
        return [*self.prefix, "java", *ens.zk_jvm,
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=" + servers.ZK_LOG_LEVEL,
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-Dzookeeper.jmx.log4j.disable=true",
                "-Dzookeeper.admin.enableServer=false",
                "-Dzookeeper.4lw.commands.whitelist=*",
                "-Dzookeeper.log.dir=" + self.workdir,
                *props,
                "-cp", ZK_QUORUM_CLASSPATH,
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", self.cfg_path]

    def spawn(self):
        assert not self.alive(), f"{self} is already running"
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.workdir, env=env)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, chars=6000):
        """The end of the log without the lines ZooKeeper writes for each four-letter word
        (the harness polls `srvr`, which would fill any tail)."""
        lines = [ln for ln in self.log().splitlines() if not FOUR_LETTER_NOISE.search(ln)]
        return "\n".join(lines)[-chars:]

    def srvr(self):
        return srvr(self.port, host=self.client_ip) if self.alive() else None

    def mode(self):
        """'leader', 'follower' or 'observer' (as `srvr` says), or None when not serving."""
        return parse_mode(self.srvr())

    def zxid(self):
        """The last zxid this member applied, as `srvr` says; None when it does not answer."""
        return parse_zxid(self.srvr())

    def state(self):
        """(mode, zxid) from one `srvr`, so that the two belong together."""
        out = self.srvr()
        return parse_mode(out), parse_zxid(out)

    def serves_sessions(self):
        return self.alive() and zkwire.probe_session(self.client_ip, self.port)

    def wait_serving(self, timeout_s=START_TIMEOUT_S):
        """Waits until this member hands out sessions; raises with its log tail if not."""
        try:
            servers.wait_for_port(self.port, self.proc, timeout_s, host=self.client_ip)
        except RuntimeError as e:
            raise RuntimeError(f"{self}: {e}\n--- log tail ---\n{self.log_tail(4000)}") from e

    def kill(self):
        """SIGKILL, as a crash: no shutdown code runs. Returns once the process is gone."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=STOP_TIMEOUT_S)

    def restart(self, wait=True, timeout_s=START_TIMEOUT_S):
        """Starts the dead member again (same ports, configuration and data; log appended)
        and, if `wait`, waits until it serves sessions again."""
        assert not self.alive(), "restart() needs the member to have stopped"
        with open(self.log_path, "a") as f:
            code = self.proc.returncode if self.proc else None
            f.write(f"==== test harness: restart (previous exit status {code})\n")
        self.spawn()
        if wait:
            self.wait_serving(timeout_s)

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)


class Ensemble:
    """`members` (voters first, then observers, ids from 1), `hosts` (every member's client
    address, comma separated), `kind` ('corral' or 'zookeeper'). Members run where `net` puts
    them (LOOPBACK), with `corral_bin` or a JVM with `zk_jvm`, under `workdir/member-N`: a
    directory of the caller's, kept at stop(), or a temporary one, removed at stop()."""

    def __init__(self, kind, voters=3, observers=0, extra_cfg=None, net=LOOPBACK,
                 workdir=None, corral_bin=None, zk_jvm=ZK_TEST_JVM):
        self.kind = kind
        self.extra_cfg = dict(extra_cfg or {})
        self.corral_bin = corral_bin or servers.CORRAL_BIN
        self.zk_jvm = list(zk_jvm)
        self._remove_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"{kind}-ensemble-")
        self.members = [Member(self, i + 1, observer=i >= voters, net=net)
                        for i in range(voters + observers)]
        self.hosts = self.hosts_of(m.id for m in self.members)
        lines = [m.server_line() for m in self.members]
        for m in self.members:
            m.write_config(lines, self.extra_cfg)

    def member(self, sid):
        return next(m for m in self.members if m.id == sid)

    def hosts_of(self, ids):
        """The connect string of the members `ids`, in that order."""
        return ",".join(self.member(i).host for i in ids)

    def live(self):
        return [m for m in self.members if m.alive()]

    def modes(self):
        """{id: mode} of every live member (None: not serving)."""
        return {m.id: m.mode() for m in self.live()}

    def states(self):
        """{id: (mode, zxid)} of every live member."""
        return {m.id: m.state() for m in self.live()}

    def leader(self, timeout_s=30.0):
        """Waits until exactly one live member says leader and every other live member says
        follower (voters) or observer (observers); returns the leader."""
        deadline = time.monotonic() + timeout_s
        modes = {}
        while time.monotonic() < deadline:
            modes = self.modes()
            leaders = [sid for sid, mode in modes.items() if mode == "leader"]
            settled = all(mode == ("observer" if self.member(sid).observer else "follower")
                          for sid, mode in modes.items() if sid not in leaders)
            if len(leaders) == 1 and settled:
                return self.member(leaders[0])
            time.sleep(POLL_S)
        raise AssertionError(f"no single leader with settled followers within {timeout_s}s: "
                             f"modes {modes}")

    def wait_converged(self, timeout_s=30.0, mark=True):
        """Waits until every live member reports the same Zxid, and returns it. With `mark`,
        first commits a marker znode through the leader: a freshly elected leader reports
        its new epoch's zxid before any transaction of that epoch reaches its followers, so
        only a transaction gives them a zxid to agree on."""
        if mark:
            self.mark(timeout_s)
        deadline = time.monotonic() + timeout_s
        zxids = {}
        while time.monotonic() < deadline:
            zxids = {m.id: m.zxid() for m in self.live()}
            values = set(zxids.values())
            if len(values) == 1 and None not in values:
                return values.pop()
            time.sleep(POLL_S)
        raise AssertionError(f"members did not reach the same Zxid within {timeout_s}s: "
                             + ", ".join(f"{sid}: {z and hex(z)}" for sid, z in zxids.items()))

    def mark(self, timeout_s=30.0):
        leader = self.leader(timeout_s)
        c = KazooClient(hosts=leader.host, timeout=10.0,
                        connection_retry={"max_tries": 3, "delay": 0.1, "max_delay": 1})
        c.start(timeout=timeout_s)
        try:
            c.create("/ensemble-marker-", sequence=True, ephemeral=False)
        finally:
            c.stop()
            c.close()

    def wait_whole(self, timeout_s, converged=False):
        """Waits, bounded, until every member (a dead one fails it) hands out sessions, one
        leads and the others follow or observe; with `converged`, then as wait_converged.
        Returns the leader; raises AssertionError with every member's log tail if not."""
        deadline = time.monotonic() + timeout_s

        def left():
            return max(1.0, deadline - time.monotonic())
        try:
            with ThreadPoolExecutor(len(self.members)) as pool:
                list(pool.map(lambda m: m.wait_serving(left()), self.members))
            if converged:
                self.wait_converged(left())
            return self.leader(left())
        except Exception as e:  # noqa: BLE001 - also the marker write's kazoo errors
            raise AssertionError(f"{self.kind} ensemble not whole"
                                 f"{' and converged' if converged else ''} within {timeout_s}s:"
                                 f" {e}\n{self.log_tails(3000)}") from e

    def start(self, timeout_s=START_TIMEOUT_S):
        """Starts every member at once and waits until the ensemble is whole (wait_whole).
        Stops everything and raises with log tails if not."""
        for m in self.members:
            m.spawn()
        try:
            self.wait_whole(timeout_s)
        except AssertionError as e:
            self.stop()
            raise RuntimeError(f"{self.kind} ensemble did not start: {e}") from e
        return self

    def log_tails(self, chars=4000):
        return "\n".join(f"--- member {m.id} log tail ---\n{m.log_tail(chars)}"
                         for m in self.members)

    def stop(self):
        """Stops every member (SIGTERM, then SIGKILL) and removes the work directory if it
        is the harness's own."""
        for m in self.members:
            if m.alive():
                m.proc.send_signal(signal.SIGTERM)
        for m in self.members:
            m.stop()
        if self._remove_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_ensemble(kind=None, voters=3, observers=0, extra_cfg=None):
    """A running ensemble of `voters` participants and `observers` observers."""
    return Ensemble(kind or servers.target_kind(), voters, observers, extra_cfg).start()


def session_refused(port, timeout_s=10.0, session_id=0, passwd=b"\0" * 16):
    """True when the member on `port` refuses a session within `timeout_s`: a new one, or
    with `session_id` and `passwd` the resumption of an existing one. Refusing is closing the
    connection (or not accepting it), as ZooKeeper does without a quorum. False when it
    answers the handshake with a session, or leaves it unanswered until the deadline."""
    deadline = time.monotonic() + timeout_s
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
            s.sendall(zkwire.connect_request(30000, session_id=session_id, passwd=passwd))
            body = zkwire.read_frame(s, max(0.1, deadline - time.monotonic()))
    except socket.timeout:
        return False
    except (OSError, EOFError):
        return True
    return zkwire.parse_connect_response(body)["session_id"] == 0
