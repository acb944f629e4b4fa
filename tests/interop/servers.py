"""Starts the servers the interop tests talk to: a real corral, or Apache ZooKeeper 3.8
(Debian's package) as the reference. Each gets a fresh data directory and a free port on
127.0.0.1, and is stopped when the test is done."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

try:
    from . import zkwire
except ImportError:  # imported as a top-level module (pytest rootdir-relative)
    import zkwire

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORRAL_BIN = os.environ.get("CORRAL_BIN", os.path.join(REPO, "target", "release", "corral"))
ZK_JARS = "/usr/share/java"
# The smallest classpath Debian's ZooKeeper 3.8 standalone server runs with. zookeeper.jar's
# manifest Class-Path names its other dependencies (netty, metrics, commons-*); the standalone
# NIO server loads none of them. slf4j-simple writes the log to the server's log file.
ZK_CLASSPATH = ":".join(f"{ZK_JARS}/{j}.jar" for j in
                        ("zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-simple"))
# What ZooKeeper's AdminServer (Jetty, Jackson) needs on top, for a test that enables it.
ZK_ADMIN_CLASSPATH = ":".join(f"{ZK_JARS}/{j}.jar" for j in
                              ("jetty9-server", "jetty9-servlet", "jetty9-util",
                               "jetty9-util-ajax", "jetty9-http", "jetty9-io", "jetty9-security",
                               "servlet-api", "jackson-core", "jackson-databind",
                               "jackson-annotations"))
ZK_LOG_LEVEL = os.environ.get("CORRAL_ZK_LOG_LEVEL", "info")
START_TIMEOUT_S = 60
# zoo.cfg keys that Apache ZooKeeper reads only as Java system properties; corral reads them
# from zoo.cfg. `znode.container.checkIntervalMs` paces both container and TTL reaping.
ZK_SYSTEM_PROPERTY_KEYS = ("znode.container.checkIntervalMs",
                           "znode.container.maxNeverUsedIntervalMs",
                           "zookeeper.DigestAuthenticationProvider.superDigest",
                           "java.security.auth.login.config",
                           "zookeeper.enforceQuota", "zookeeper.maxCnxns",
                           "zookeeper.globalOutstandingLimit")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout_s=START_TIMEOUT_S, host="127.0.0.1"):
    """Waits until the server hands out sessions: ZooKeeper listens before it serves."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before serving")
        if zkwire.probe_session(host, port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not serve sessions on {port} within {timeout_s}s")


class Server:
    """A running server: `hosts` is the connect string for clients. `spawn` starts its process
    again (same command, configuration, port and data directory, log appended), for the tests
    that kill and restart it."""

    def __init__(self, kind, port, proc, workdir, log_path, spawn=None):
        self.kind = kind
        self.port = port
        self.proc = proc
        self.workdir = workdir
        self.log_path = log_path
        self.hosts = f"127.0.0.1:{port}"
        self._spawn = spawn

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def kill(self):
        """SIGKILL, as a crash: no shutdown code runs. Returns once the process is gone."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=15)

    def restart(self, timeout_s=START_TIMEOUT_S, wait=True):
        """Starts the (dead) server again on the same port and data, and waits until it
        hands out sessions (unless `wait` is false). Raises with the log tail if it does not."""
        assert self._spawn is not None, f"{self.kind} cannot be restarted"
        assert self.proc.poll() is not None, "restart() needs the server to have stopped"
        with open(self.log_path, "a") as f:
            f.write(f"==== test harness: restart (previous exit status {self.proc.returncode})\n")
        self.proc = self._spawn()
        if not wait:
            return
        try:
            wait_for_port(self.port, self.proc, timeout_s)
        except Exception as e:
            raise RuntimeError(f"{self.kind} failed to restart: {e}\n"
                               f"--- log tail ---\n{self.log()[-4000:]}") from e

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _await_serving(server):
    try:
        wait_for_port(server.port, server.proc)
    except Exception as e:
        tail = server.log()[-4000:]
        server.stop()
        raise RuntimeError(f"{server.kind} failed to start: {e}\n--- log tail ---\n{tail}") from e
    return server


def _write_cfg(workdir, port, extra):
    cfg = {
        "tickTime": "2000",
        "dataDir": os.path.join(workdir, "data"),
        "clientPort": str(port),
        "clientPortAddress": "127.0.0.1",
        "4lw.commands.whitelist": "*",
        "admin.enableServer": "false",
        "extendedTypesEnabled": "true",
        "maxClientCnxns": "0",
    }
    cfg.update(extra or {})
    os.makedirs(cfg["dataDir"], exist_ok=True)
    path = os.path.join(workdir, "zoo.cfg")
    with open(path, "w") as f:
        for k, v in cfg.items():
            f.write(f"{k}={v}\n")
    return path


def start_corral(extra_cfg=None, log_level=None, env=None):
    """`log_level` is the server's RUST_LOG (default: the test run's RUST_LOG, else info);
    `env` adds environment variables (e.g. SERVER_JVMFLAGS)."""
    workdir = tempfile.mkdtemp(prefix="corral-test-")
    port = free_port()
    cfg = _write_cfg(workdir, port, extra_cfg)
    log_path = os.path.join(workdir, "server.log")
    env = dict(os.environ, RUST_LOG=log_level or os.environ.get("RUST_LOG", "info"), **(env or {}))

    def spawn():
        with open(log_path, "a") as log:
            return subprocess.Popen([CORRAL_BIN, "server", "--config", cfg],
                                    stdout=log, stderr=subprocess.STDOUT, env=env)

    return _await_serving(Server("corral", port, spawn(), workdir, log_path, spawn))


def start_zookeeper(extra_cfg=None):
    workdir = tempfile.mkdtemp(prefix="zk-test-")
    port = free_port()
    cfg = _write_cfg(workdir, port, extra_cfg)
    log_path = os.path.join(workdir, "server.log")
    log = open(log_path, "w")
    props = [f"-D{k}={v}" for k, v in (extra_cfg or {}).items() if k in ZK_SYSTEM_PROPERTY_KEYS]
    admin = (extra_cfg or {}).get("admin.enableServer") == "true"
    classpath = ZK_CLASSPATH + (":" + ZK_ADMIN_CLASSPATH if admin else "")
    # Quick JVM start (C1 only, serial GC, small heap); no fsync, since tests never crash it.
    cmd = ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           "-Dorg.slf4j.simpleLogger.defaultLogLevel=" + ZK_LOG_LEVEL,
           "-Dorg.slf4j.simpleLogger.showDateTime=true",
           "-Dzookeeper.jmx.log4j.disable=true",
           f"-Dzookeeper.admin.enableServer={'true' if admin else 'false'}",
           "-Dzookeeper.extendedTypesEnabled=true",
           "-Dzookeeper.4lw.commands.whitelist=*",
           "-Dzookeeper.forceSync=no",
           "-Dzookeeper.log.dir=" + workdir,
           *props,
           "-cp", classpath, "org.apache.zookeeper.server.ZooKeeperServerMain", cfg]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    return _await_serving(Server("zookeeper", port, proc, workdir, log_path))


def start(kind, extra_cfg=None):
    """`kind` is "corral" or "zookeeper"; tests use the CORRAL_TEST_TARGET default."""
    return start_zookeeper(extra_cfg) if kind == "zookeeper" else start_corral(extra_cfg)


def target_kind():
    return os.environ.get("CORRAL_TEST_TARGET", "corral")
