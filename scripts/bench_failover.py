"""Leader failover of a 3-member ensemble, corral or Apache ZooKeeper 3.8 (Debian's package), on
127.0.0.1 with fsync on, started by tests/interop/ensemble.py: the helper of
scripts/bench-failover.sh (run by hand, not a test).

One writer (the byte-level client of tests/interop/zkwire.py, one request outstanding, a
session resumed on reconnect as real clients do) connected to the two followers sends setData
continuously. Each round SIGKILLs the leader and measures from the kill to the first write
that was sent after the kill and acknowledged; then the killed member is started again and
the next round waits until the ensemble is whole (one leader, two followers, all serving) and
converged (the same Zxid on all three). Prints one line per round and, last, a JSON line.

    python3 scripts/bench_failover.py --kind zookeeper --rounds 7 --dir /var/tmp/x
"""

import argparse
import json
import os
import socket
import statistics
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "interop"))
import ensemble  # noqa: E402
import servers  # noqa: E402
import zkwire  # noqa: E402

PATH = "/bench-failover"
SESSION_TIMEOUT_MS = 30000
IO_TIMEOUT_S = 5.0        # a reply (or a handshake) not there by then: reconnect elsewhere
RETRY_PAUSE_S = 0.01      # between connection attempts (alternating between the followers)


class Writer(threading.Thread):
    """setData(PATH) in a loop, one outstanding, over whichever of `hosts` serves. After
    `arm(t)`, `first_ack` is set by the first write sent at or after t that is acknowledged."""

    def __init__(self, hosts):
        super().__init__(daemon=True)
        self.hosts = hosts
        self.halt = threading.Event()
        self.acked = 0
        self.reconnects = 0
        self.expired = 0
        self.first_ack = None
        self._armed_at = None
        self._event = threading.Event()
        self.session_id, self.passwd, self.last_zxid = 0, b"\0" * 16, 0
        self.sock = None
        self.error = None
        self.trace = None  # a list: (time, event) of every connection and reply, for --trace

    def arm(self, t):
        self.first_ack, self._armed_at = None, t
        self._event.clear()

    def wait_first_ack(self, timeout_s):
        return self._event.wait(timeout_s)

    def _note(self, what):
        if self.trace is not None:
            self.trace.append((time.monotonic(), what))

    def _connect(self, i):
        host, port = self.hosts[i % len(self.hosts)]
        self._note(f"connect to {port}")
        s = socket.create_connection((host, port), timeout=IO_TIMEOUT_S)
        try:
            s.sendall(zkwire.connect_request(SESSION_TIMEOUT_MS, self.session_id, self.passwd,
                                             self.last_zxid))
            r = zkwire.parse_connect_response(zkwire.read_frame(s, IO_TIMEOUT_S))
        except BaseException:
            s.close()
            raise
        if r["timeout_ms"] <= 0:  # the session expired: start a new one
            s.close()
            self.expired += 1
            self.session_id, self.passwd = 0, b"\0" * 16
            raise EOFError("session expired")
        self.session_id, self.passwd = r["session_id"], r["passwd"]
        return s

    def run(self):
        try:
            self._run()
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            self.error = e

    def _run(self):
        i, xid = 0, 0
        while not self.halt.is_set():
            if self.sock is None:
                try:
                    self.sock = self._connect(i)
                except (OSError, EOFError, struct.error) as e:
                    self._note(f"connect failed: {e!r}")
                    i += 1
                    self.reconnects += 1
                    time.sleep(RETRY_PAUSE_S)
                    continue
                self._note("session")
            xid += 1
            sent = time.monotonic()
            try:
                self.sock.sendall(zkwire.request(
                    xid, zkwire.OP_SET_DATA, zkwire.set_data_body(PATH, b"%d" % xid)))
                while True:
                    reply = zkwire.read_frame(self.sock, IO_TIMEOUT_S)
                    rxid, zxid, err = struct.unpack_from("!iqi", reply, 0)
                    if rxid == xid:
                        break
                    if rxid not in (zkwire.PING_XID, zkwire.WATCH_XID):
                        raise EOFError(f"reply for xid {rxid}, expected {xid}")
            except (OSError, EOFError, struct.error) as e:
                self._note(f"write {xid} failed: {e!r}")
                self.sock.close()
                self.sock = None
                i += 1
                self.reconnects += 1
                continue
            if err != 0:  # not acknowledged (e.g. a server that refuses writes): go elsewhere
                self._note(f"write {xid} refused: error {err}")
                self.sock.close()
                self.sock = None
                i += 1
                self.reconnects += 1
                time.sleep(RETRY_PAUSE_S)
                continue
            acked = time.monotonic()
            if self._armed_at is not None and self.first_ack is None:
                self._note(f"write {xid} acked")
            self.last_zxid = max(self.last_zxid, zxid)
            self.acked += 1
            if self._armed_at is not None and sent >= self._armed_at and self.first_ack is None:
                self.first_ack = acked
                self._event.set()

    def close(self):
        self.halt.set()
        self.join(timeout=2 * IO_TIMEOUT_S + 1)
        if self.sock is not None:
            try:
                self.sock.sendall(zkwire.request(1 << 30, zkwire.OP_CLOSE_SESSION))
                zkwire.read_frame(self.sock, 2)
            except (OSError, EOFError, struct.error):
                pass
            self.sock.close()
            self.sock = None


def create_path(member):
    s = zkwire.RawSession(member.client_ip, member.port)
    try:
        _zxid, err, _ = s.call(zkwire.OP_CREATE, zkwire.create_body(PATH, b"0"))
        assert err in (0, -110), f"create {PATH}: error {err}"  # -110: NodeExists
    finally:
        s.close_session()


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=("corral", "zookeeper"), required=True)
    ap.add_argument("--bench", default=servers.CORRAL_BIN, help="the corral binary")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds of writes first")
    ap.add_argument("--dir", required=True, help="data and logs (member-N/)")
    ap.add_argument("--round-limit", type=float, default=60.0,
                    help="seconds a round may wait for the first write after the kill")
    ap.add_argument("--start-limit", type=float, default=120.0)
    ap.add_argument("--trace", action="store_true",
                    help="print the writer's connections and replies of each failover")
    a = ap.parse_args()

    ens = ensemble.Ensemble(a.kind, 3, workdir=a.dir,
                            extra_cfg={"tickTime": "2000", "initLimit": "10", "syncLimit": "5"},
                            corral_bin=a.bench, zk_jvm=ensemble.ZK_BENCH_JVM)
    times, rows = [], []
    try:
        ens.start(a.start_limit)
        create_path(ens.wait_whole(a.start_limit, converged=True))
        for rnd in range(1, a.rounds + 1):
            leader = ens.wait_whole(a.start_limit, converged=True)
            zxid = leader.zxid()
            followers = [m for m in ens.members if m is not leader]
            w = Writer([(m.client_ip, m.port) for m in followers])
            w.trace = [] if a.trace else None
            w.start()
            settle = a.warmup if rnd == 1 else 1.0
            time.sleep(settle)  # writes flowing (and, in round 1, the warm-up)
            assert w.acked > 0 and w.error is None, \
                f"round {rnd}: no write acknowledged in {settle}s before the kill ({w.error})"
            before = w.acked
            load = loadavg()
            t_kill = time.monotonic()
            w.arm(t_kill)
            leader.kill()
            ok = w.wait_first_ack(a.round_limit)
            w.close()
            if w.error is not None:
                raise w.error
            if not ok:
                raise AssertionError(f"round {rnd}: no write acknowledged within "
                                     f"{a.round_limit}s of killing leader {leader.id}\n"
                                     f"{ens.log_tails(3000)}")
            ms = (w.first_ack - t_kill) * 1000
            for t, what in (w.trace or []):
                if t >= t_kill - 0.01:
                    print(f"  {(t - t_kill) * 1000:8.1f} ms  {what}")
            times.append(ms)
            new_leader = [s for s, mode in ens.modes().items() if mode == "leader"]
            rows.append({"round": rnd, "killed": leader.id, "new_leader": new_leader,
                         "ms": round(ms, 1), "reconnects": w.reconnects,
                         "acked_before_kill": before, "load": load})
            print(f"{a.kind} round {rnd}: killed leader {leader.id} (zxid "
                  f"{zxid and hex(zxid)}), first acknowledged write {ms:.0f} ms after "
                  f"the kill, new leader {new_leader}, {w.reconnects} reconnects, "
                  f"{before} writes acked before (load {load})", flush=True)
            leader.restart(wait=False)
        ens.wait_whole(a.start_limit, converged=True)
    finally:
        ens.stop()
    print(json.dumps({"kind": a.kind, "rounds": [round(t, 1) for t in times],
                      "median_ms": round(statistics.median(times), 1), "detail": rows}))


if __name__ == "__main__":
    main()
