"""Ensembles whose members may each run inside a network namespace, for the partition test and
the failover benchmark (ensemble.py is the harness of the other ensemble tests). Starts 3 or
5 members of corral or Apache ZooKeeper 3.8 (Debian's package) with ZooKeeper's own
configuration: each member has its zoo.cfg with the same `server.N=` lines, its
own clientPort/clientPortAddress and a dataDir holding `myid`. Used by test_partition.py (each
member inside its own network namespace: `prefix` = ["ip", "netns", "exec", NS]) and by
scripts/bench_failover.py (all on 127.0.0.1, one port set per member).

ZooKeeper's quorum peer (QuorumPeerMain) runs with the standalone server's classpath of
servers.py and nothing more: with NIO client connections and the admin server off it loads no
netty, jetty, metrics-core or commons-* class (checked on Debian's 3.8.0: elections, sync,
restarts, no NoClassDefFoundError in the logs)."""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

try:
    from . import servers, zkwire
except ImportError:  # imported as a top-level module
    import servers
    import zkwire

ZK_QUORUM_CLASSPATH = servers.ZK_CLASSPATH
# Quick JVM start for tests (C1 only, serial GC, small heap), no fsync: as servers.py.
ZK_TEST_JVM = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
               "-Dzookeeper.forceSync=no"]
# What the benchmarks use (bench-lib.sh): default GC and JIT, fsync on.
ZK_BENCH_JVM = ["-Xmx4g", "-Dzookeeper.forceSync=yes"]
NOT_SERVING = "This ZooKeeper instance is not currently serving requests"


def four_letter(host, port, cmd, timeout_s=5.0, limit_bytes=1 << 20):
    """A four-letter word to host:port; everything the server writes until it closes."""
    out = b""
    deadline = time.monotonic() + timeout_s
    with socket.create_connection((host, port), timeout=timeout_s) as s:
        s.sendall(cmd.encode())
        while len(out) < limit_bytes:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    return out.decode("utf-8", "replace")


def srvr(host, port, timeout_s=5.0):
    """`srvr` parsed: {"mode": "leader"|"follower"|"observer"|"standalone", "zxid": int} when
    the member serves; {"mode": None, "zxid": None} when it says it is not serving, does not
    answer, or answers something else (the raw text is under "raw")."""
    try:
        text = four_letter(host, port, "srvr", timeout_s)
    except (OSError, UnicodeError) as e:
        return {"mode": None, "zxid": None, "raw": f"({e})"}
    mode = re.search(r"^Mode: (\w+)", text, re.M)
    zxid = re.search(r"^Zxid: (0x[0-9a-fA-F]+)", text, re.M)
    if NOT_SERVING in text or not mode or not zxid:
        return {"mode": None, "zxid": None, "raw": text}
    return {"mode": mode.group(1), "zxid": int(zxid.group(1), 16), "raw": text}


class Member:
    """One ensemble member: `sid` (its myid), its client address, its own zoo.cfg and dataDir
    under `workdir`, its log (stdout and stderr) in workdir/server.log."""

    def __init__(self, kind, sid, workdir, client_host, client_port, cmd):
        self.kind = kind
        self.sid = sid
        self.workdir = workdir
        self.client_host = client_host
        self.client_port = client_port
        self.hosts = f"{client_host}:{client_port}"
        self.log_path = os.path.join(workdir, "server.log")
        self._cmd = cmd
        self.proc = None

    def spawn(self):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with open(self.log_path, "a") as log:
            if self.proc is not None:
                log.write(f"==== harness: restart (previous exit {self.proc.returncode})\n")
                log.flush()
            env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
            self.proc = subprocess.Popen(self._cmd, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.workdir, env=env)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL (a crash); returns once the process is gone."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=15)

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)

    def srvr(self, timeout_s=5.0):
        return srvr(self.client_host, self.client_port, timeout_s)

    def serves_sessions(self, timeout_s=2.0):
        return zkwire.probe_session(self.client_host, self.client_port, timeout_s)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError as e:
            return f"({e})"


class Ensemble:
    def __init__(self, kind, members):
        self.kind = kind
        self.members = members

    def by_sid(self, sid):
        return next(m for m in self.members if m.sid == sid)

    def hosts(self, members=None):
        return ",".join(m.hosts for m in (members or self.members))

    def modes(self):
        """{sid: srvr(...)} of every member (a killed member: mode None)."""
        return {m.sid: (m.srvr() if m.alive() else {"mode": None, "zxid": None, "raw": "dead"})
                for m in self.members}

    def wait_whole(self, timeout_s, converged=False):
        """Waits until every member serves sessions, one is leader and the others followers.
        With `converged`, then until all report the same Zxid in one poll (the sessions opened
        to check serving are transactions, so every member has one after the election's new
        epoch). Returns (leader sid, modes); raises AssertionError with every member's srvr and
        log tail otherwise."""
        deadline = time.monotonic() + timeout_s
        modes = {}
        whole = False
        while time.monotonic() < deadline:
            for m in self.members:
                if not m.alive():
                    raise AssertionError(f"member {m.sid} exited with {m.proc.returncode}\n"
                                         f"{self.describe()}")
            modes = self.modes()
            leaders = [s for s, r in modes.items() if r["mode"] == "leader"]
            followers = [s for s, r in modes.items() if r["mode"] == "follower"]
            if len(leaders) == 1 and len(followers) == len(self.members) - 1:
                if not whole:
                    whole = all(m.serves_sessions() for m in self.members)
                    continue
                if not converged or len({r["zxid"] for r in modes.values()}) == 1:
                    return leaders[0], modes
            else:
                whole = False
            time.sleep(0.1)
        raise AssertionError(f"ensemble not whole{' and converged' if converged else ''} "
                             f"within {timeout_s}s: {self.summary(modes)}\n{self.describe()}")

    @staticmethod
    def summary(modes):
        return {s: (r["mode"], hex(r["zxid"]) if r["zxid"] is not None else None)
                for s, r in modes.items()}

    def describe(self, tail=3000):
        return "\n".join(f"--- member {m.sid} ({m.hosts}) log tail ---\n{m.log()[-tail:]}"
                         for m in self.members)

    def stop(self, remove=True):
        for m in self.members:
            try:
                m.stop()
            except Exception:  # noqa: BLE001 - stop the others regardless
                pass
        if remove:
            for m in self.members:
                shutil.rmtree(m.workdir, ignore_errors=True)


def server_lines(peers):
    """peers: [(sid, peer_host, peer_port, election_port, client_host, client_port)]."""
    return [f"server.{sid}={ph}:{pp}:{ep}:participant;{ch}:{cp}"
            for sid, ph, pp, ep, ch, cp in peers]


def write_member_config(workdir, sid, client_host, client_port, lines, extra=None):
    data = os.path.join(workdir, "data")
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(data, "myid"), "w") as f:
        f.write(f"{sid}\n")
    cfg = {
        "tickTime": "1000",
        "initLimit": "10",
        "syncLimit": "5",
        "dataDir": data,
        "clientPort": str(client_port),
        "clientPortAddress": client_host,
        "4lw.commands.whitelist": "*",
        "admin.enableServer": "false",
        "maxClientCnxns": "0",
    }
    cfg.update(extra or {})
    path = os.path.join(workdir, "zoo.cfg")
    with open(path, "w") as f:
        for k, v in cfg.items():
            f.write(f"{k}={v}\n")
        for line in lines:
            f.write(line + "\n")
    return path


def member_command(kind, cfg, workdir, corral_bin=None, zk_jvm=None, prefix=()):
    if kind == "corral":
        return [*prefix, corral_bin or servers.CORRAL_BIN, "server", "--config", cfg]
    return [*prefix, "java", *(ZK_TEST_JVM if zk_jvm is None else zk_jvm),
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=" + servers.ZK_LOG_LEVEL,
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dzookeeper.jmx.log4j.disable=true",
            "-Dzookeeper.admin.enableServer=false",
            "-Dzookeeper.4lw.commands.whitelist=*",
            "-Dzookeeper.log.dir=" + workdir,
            "-cp", ZK_QUORUM_CLASSPATH, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]


def create(kind, base_dir, peers, prefixes=None, extra_cfg=None, corral_bin=None, zk_jvm=None):
    """Writes every member's zoo.cfg and myid under base_dir/member-N and returns the (not yet
    started) Ensemble. `prefixes`: {sid: command prefix}, e.g. ip netns exec."""
    lines = server_lines(peers)
    members = []
    for sid, _ph, _pp, _ep, ch, cp in peers:
        workdir = os.path.join(base_dir, f"member-{sid}")
        cfg = write_member_config(workdir, sid, ch, cp, lines, extra_cfg)
        cmd = member_command(kind, cfg, workdir, corral_bin, zk_jvm,
                             (prefixes or {}).get(sid, ()))
        members.append(Member(kind, sid, workdir, ch, cp, cmd))
    return Ensemble(kind, members)
