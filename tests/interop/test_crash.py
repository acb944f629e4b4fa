"""corral survives SIGKILL at random moments without losing or inventing anything a client was
told (corral only: it kills and restarts the server on the same port and data directory).

Four kazoo clients write concurrently and record every outcome: acknowledged, refused by the
server (a definite failure), or unknown (the connection dropped before the reply). The writes:
unique persistent nodes, setData with a version check on a few counters (whose data is always
their version), multis (three creates around a versioned setData: all or nothing), and
ephemerals of the writers' sessions. Now and then a raw session that is never resumed ("doomed")
creates ephemerals just before a kill.

Each cycle lets the writers run for a random while, SIGKILLs the server (sometimes again 0-100 ms
after starting it, during or just after its recovery), restarts it, waits until every writer has its reply or its
ConnectionLoss and has resumed its session, and checks against the records:

- every acknowledged create, multi, setData and ephemeral is there; every refused one is not;
  no node appears that nobody tried to create;
- a multi's three nodes are all there or all absent;
- a counter's version is at least every version a client was acknowledged or read, and its
  data equals its version (so no setData applied twice or half);
- the writers keep their sessions (same id, never LOST) and so their ephemerals;
- a doomed session's ephemerals are there right after a restart (sessions restart with fresh
  timers) and gone within its timeout (plus slack) after the last restart.

The seed is printed and is in every failure message: CORRAL_CRASH_SEED=<seed> replays the same
choices (the timing of the kills, and so the outcomes, still varies). CORRAL_CRASH_KILLS sets
the number of kills while writing (default 40).
"""

import os
import random
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (BadVersionError, ConnectionClosedError, ConnectionLoss,
                              OperationTimeoutError, SessionExpiredError)
from kazoo.protocol.states import KazooState

import zkwire

pytestmark = pytest.mark.skipif(os.environ.get("CORRAL_TEST_TARGET", "corral") != "corral",
                                reason="kills and restarts corral itself")

KILLS = int(os.environ.get("CORRAL_CRASH_KILLS", "40"))
RECOVERY_KILL_CHANCE = 0.15
WORKERS = 4
COUNTERS = 3
TICK_MS = 250
WRITER_TIMEOUT_S = 10.0
DOOMED_TIMEOUT_MS = 3000
DOOMED_EPHEMERALS = 3
# Expiry happens on the first tick after the deadline, then goes through the log.
EXPIRY_SLACK_S = 3.0
SERVER_CFG = {
    "tickTime": str(TICK_MS),
    "maxSessionTimeout": "20000",
    "snapCount": "200",
    "autopurge.snapRetainCount": "3",
}
# Bounds: every wait in a cycle has one, so a hang fails the test instead of stalling it.
PROGRESS_TIMEOUT_S = 15.0
IDLE_TIMEOUT_S = 30.0
RECONNECT_TIMEOUT_S = 5.0
CYCLE_BUDGET_S = 30.0
TOTAL_BUDGET_S = 170.0

ROOT = "/crash"
NODES = f"{ROOT}/n"
MULTI_DIRS = (f"{ROOT}/ma", f"{ROOT}/mb", f"{ROOT}/mc")
EPH = f"{ROOT}/eph"
DOOM = f"{ROOT}/doom"
CTR = f"{ROOT}/ctr"

OK, FAILED, UNKNOWN = "ok", "failed", "unknown"
# Raised by kazoo itself when the connection is gone: the request may or may not have applied.
NO_ANSWER = (ConnectionLoss, ConnectionClosedError, OperationTimeoutError)


def counter_path(k):
    return f"{CTR}/c{k}"


class Gate:
    """Lets the main thread stop the writers between requests and know they have stopped."""

    def __init__(self, n):
        self.n = n
        self.paused = False
        self.idle = 0
        self.stop = False
        self.cond = threading.Condition()

    def checkpoint(self):
        """Called by a writer between requests; returns False when it should end."""
        with self.cond:
            if self.paused:
                self.idle += 1
                self.cond.notify_all()
                self.cond.wait_for(lambda: not self.paused or self.stop)
                self.idle -= 1
            return not self.stop

    def pause(self):
        with self.cond:
            self.paused = True

    def wait_idle(self, timeout_s, alive):
        """Waits until every live writer is parked; `alive()` counts writers still running."""
        with self.cond:
            return self.cond.wait_for(lambda: self.idle >= alive(), timeout=timeout_s)

    def resume(self):
        with self.cond:
            self.paused = False
            self.cond.notify_all()

    def finish(self):
        with self.cond:
            self.stop = True
            self.paused = False
            self.cond.notify_all()


class Writer:
    """One kazoo session writing in a loop. Its records are only read by the main thread
    while the writer is parked at the gate."""

    def __init__(self, idx, hosts, seed, gate):
        self.idx = idx
        self.rng = random.Random(seed * 1000 + idx)
        self.gate = gate
        self.seq = 0
        self.creates = {}         # path -> OK | FAILED | UNKNOWN
        self.ephemerals = {}      # path -> OK | FAILED | UNKNOWN
        self.multis = {}          # name -> OK | FAILED | UNKNOWN
        self.max_version = [-1] * COUNTERS  # highest counter version acknowledged or read
        self.acked = 0
        self.no_answer = 0
        self.lost = []            # session states that mean the session ended
        self.error = None
        self.client = KazooClient(
            hosts=hosts, timeout=WRITER_TIMEOUT_S,
            connection_retry={"max_tries": -1, "delay": 0.05, "max_delay": 0.25},
            command_retry={"max_tries": 0})
        self.client.add_listener(self._state)
        self.client.start(timeout=15)
        self.session_id = self.client.client_id[0]
        self.thread = threading.Thread(target=self._run, name=f"writer-{idx}", daemon=True)

    def _state(self, state):
        if state == KazooState.LOST:
            self.lost.append(time.monotonic())

    def _run(self):
        try:
            while self.gate.checkpoint():
                self._one()
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = e
        finally:
            with self.gate.cond:
                self.gate.cond.notify_all()

    def _name(self):
        self.seq += 1
        return f"w{self.idx}-{self.seq}"

    def _saw_version(self, k, version):
        self.max_version[k] = max(self.max_version[k], version)

    def _one(self):
        roll = self.rng.random()
        try:
            if roll < 0.45:
                self._create()
            elif roll < 0.70:
                self._set_counter()
            elif roll < 0.88:
                self._multi()
            elif roll < 0.96:
                self._ephemeral()
            else:
                k = self.rng.randrange(COUNTERS)
                data, stat = self.client.get(counter_path(k))
                self._saw_version(k, stat.version)
        except NO_ANSWER:
            self.no_answer += 1
            # Wait (bounded) for the session to come back rather than spin on ConnectionLoss.
            deadline = time.monotonic() + PROGRESS_TIMEOUT_S
            while not self.client.connected and time.monotonic() < deadline \
                    and not self.gate.paused:
                time.sleep(0.02)

    def _record(self, table, key, fn):
        table[key] = UNKNOWN
        try:
            fn()
        except NO_ANSWER:
            raise
        except SessionExpiredError:
            raise
        except BadVersionError:
            table[key] = FAILED
            return
        table[key] = OK
        self.acked += 1

    def _create(self):
        path = f"{NODES}/{self._name()}"
        self._record(self.creates, path, lambda: self.client.create(path, path.encode()))

    def _ephemeral(self):
        path = f"{EPH}/{self._name()}"
        self._record(self.ephemerals, path,
                     lambda: self.client.create(path, b"", ephemeral=True))

    def _set_counter(self):
        k = self.rng.randrange(COUNTERS)
        data, stat = self.client.get(counter_path(k))
        self._saw_version(k, stat.version)
        assert data == str(stat.version).encode(), (counter_path(k), data, stat)
        try:
            new = self.client.set(counter_path(k), str(stat.version + 1).encode(),
                                  version=stat.version)
        except BadVersionError:
            return
        self._saw_version(k, new.version)
        self.acked += 1

    def _multi(self):
        """Three creates around a setData whose expected version is sometimes stale, so some
        multis are refused as a whole (BadVersion) and their creates must never appear."""
        name = self._name()
        k = self.rng.randrange(COUNTERS)
        # A version this writer saw (possibly stale); never -1, which would match any version.
        expected = max(self.max_version[k], 0) if self.rng.random() < 0.3 else None
        if expected is None:
            _, stat = self.client.get(counter_path(k))
            self._saw_version(k, stat.version)
            expected = stat.version
        t = self.client.transaction()
        t.create(f"{MULTI_DIRS[0]}/{name}", b"a")
        t.create(f"{MULTI_DIRS[1]}/{name}", b"b")
        t.set_data(counter_path(k), str(expected + 1).encode(), version=expected)
        t.create(f"{MULTI_DIRS[2]}/{name}", b"c")
        self.multis[name] = UNKNOWN
        results = t.commit()
        if any(isinstance(r, Exception) for r in results):
            assert any(isinstance(r, BadVersionError) for r in results), results
            self.multis[name] = FAILED
        else:
            self.multis[name] = OK
            self._saw_version(k, results[2].version)
            self.acked += 1


class Doomed:
    """A raw session that creates ephemerals and is never resumed: it must be kept across a
    restart (fresh timer) and expire once its timeout passes after the last restart."""

    def __init__(self, n, port):
        self.name = f"d{n}"
        self.session = zkwire.RawSession("127.0.0.1", port, timeout_ms=DOOMED_TIMEOUT_MS)
        assert self.session.handshake["timeout_ms"] == DOOMED_TIMEOUT_MS
        self.paths = [f"{DOOM}/{self.name}-{j}" for j in range(DOOMED_EPHEMERALS)]
        for p in self.paths:
            _, err, _ = self.session.call(
                zkwire.OP_CREATE, zkwire.create_body(p, flags=zkwire.FLAG_EPHEMERAL))
            assert err == 0, (p, err)
        self.gone = False
        self.gone_by = None      # monotonic time by which it must have expired, once known
        self.expired_after_restart = False


class Run:
    def __init__(self, server, seed):
        self.server = server
        self.seed = seed
        self.rng = random.Random(seed)
        self.gate = Gate(WORKERS)
        self.writers = []
        self.doomed = []
        self.kills = 0
        self.recovery_kills = 0
        self.checks = 0
        self.unknown_present = 0
        self.ready_at = time.monotonic()
        self.spawned_at = self.ready_at

    def fail(self, what):
        pytest.fail(f"[seed {self.seed}, after kill {self.kills}] {what}")

    def alive_writers(self):
        return sum(1 for w in self.writers if w.thread.is_alive())

    def await_writers_connected(self):
        """Every writer resumes its session after a restart (bounded)."""
        deadline = time.monotonic() + RECONNECT_TIMEOUT_S
        while not all(w.client.connected or w.lost for w in self.writers):
            if time.monotonic() > deadline:
                self.fail(f"writers not reconnected {RECONNECT_TIMEOUT_S}s after the restart: "
                          f"{[w.idx for w in self.writers if not w.client.connected]}")
            time.sleep(0.01)

    def verify(self, v):
        """Checks everything recorded so far against the tree, read through `v` (a kazoo
        client) while the writers are parked."""
        children = set(v.retry(v.get_children, NODES))
        multi_children = [set(v.retry(v.get_children, d)) for d in MULTI_DIRS]
        eph = set(v.retry(v.get_children, EPH))
        doom = set(v.retry(v.get_children, DOOM))
        now = time.monotonic()
        attempted = set()
        for w in self.writers:
            if w.error is not None:
                self.fail(f"writer {w.idx} failed: {w.error!r}")
            if w.lost:
                self.fail(f"writer {w.idx} lost session {w.session_id:#x}, although it "
                          f"reconnects within its {WRITER_TIMEOUT_S}s timeout")
            if w.client.client_id[0] != w.session_id:
                self.fail(f"writer {w.idx} has session {w.client.client_id[0]:#x} instead of "
                          f"{w.session_id:#x}")
            for path, outcome in w.creates.items():
                name = path.rsplit("/", 1)[1]
                attempted.add(name)
                if outcome == OK and name not in children:
                    self.fail(f"acknowledged create {path} is missing")
                if outcome == FAILED and name in children:
                    self.fail(f"refused create {path} is present")
            for path, outcome in w.ephemerals.items():
                name = path.rsplit("/", 1)[1]
                if outcome == OK and name not in eph:
                    self.fail(f"acknowledged ephemeral {path} of live session "
                              f"{w.session_id:#x} is missing")
            for name, outcome in w.multis.items():
                present = [name in c for c in multi_children]
                if any(present) and not all(present):
                    self.fail(f"multi {name} is partly applied: {present} "
                              f"in {MULTI_DIRS} (outcome {outcome})")
                if outcome == OK and not all(present):
                    self.fail(f"acknowledged multi {name} is missing")
                if outcome == FAILED and any(present):
                    self.fail(f"refused multi {name} is present")
            self.checks += len(w.creates) + len(w.ephemerals) + len(w.multis)
        self.unknown_present = sum(
            1 for w in self.writers for path, outcome in w.creates.items()
            if outcome == UNKNOWN and path.rsplit("/", 1)[1] in children) + sum(
            1 for w in self.writers for name, outcome in w.multis.items()
            if outcome == UNKNOWN and name in multi_children[0])
        phantom = children - attempted
        if phantom:
            self.fail(f"nodes nobody created: {sorted(phantom)[:10]}")
        for k in range(COUNTERS):
            data, stat = v.retry(v.get, counter_path(k))
            want = max(w.max_version[k] for w in self.writers)
            if stat.version < want:
                self.fail(f"{counter_path(k)} went back to version {stat.version}; "
                          f"version {want} was acknowledged or read")
            if data != str(stat.version).encode():
                self.fail(f"{counter_path(k)} has data {data!r} at version {stat.version}")
            self.checks += 1
        for d in self.doomed:
            present = [p.rsplit("/", 1)[1] in doom for p in d.paths]
            if any(present) and not all(present):
                self.fail(f"doomed session {d.name}'s ephemerals partly removed: {present}")
            if all(present):
                if d.gone:
                    self.fail(f"doomed session {d.name}'s ephemerals came back")
                if d.gone_by is not None and now > d.gone_by:
                    self.fail(f"doomed session {d.name} (timeout {DOOMED_TIMEOUT_MS} ms) "
                              f"still has its ephemerals {now - self.ready_at:.1f}s after "
                              f"the restart")
            else:
                # Its fresh timer starts after the process does: it cannot expire sooner.
                if not d.gone and now < self.spawned_at + DOOMED_TIMEOUT_MS / 1000 - 0.2:
                    self.fail(f"doomed session {d.name} lost its ephemerals "
                              f"{now - self.spawned_at:.1f}s after a restart, before its "
                              f"{DOOMED_TIMEOUT_MS} ms timeout")
                if not d.gone and d.gone_by is not None:
                    d.expired_after_restart = True
                d.gone = True
            self.checks += 1


def _verifier(hosts):
    """The checking session; its reads are retried (bounded) if a restart cuts them off."""
    c = KazooClient(hosts=hosts, timeout=WRITER_TIMEOUT_S,
                    connection_retry={"max_tries": -1, "delay": 0.05, "max_delay": 0.25},
                    command_retry={"max_tries": 20, "delay": 0.05, "max_delay": 0.5})
    c.start(timeout=15)
    return c


def test_sigkill_at_random_moments_loses_no_acknowledged_write(start_server):
    seed = int(os.environ.get("CORRAL_CRASH_SEED", random.randrange(1 << 32)))
    print(f"crash test seed: {seed} (CORRAL_CRASH_SEED={seed} to replay)")
    began = time.monotonic()
    server = start_server("corral", SERVER_CFG)
    run = Run(server, seed)
    verifier = _verifier(server.hosts)
    try:
        for d in (ROOT, NODES, *MULTI_DIRS, EPH, DOOM, CTR):
            verifier.create(d)
        for k in range(COUNTERS):
            verifier.create(counter_path(k), b"0")
        run.writers = [Writer(i, server.hosts, seed, run.gate) for i in range(WORKERS)]
        for w in run.writers:
            w.thread.start()

        for cycle in range(KILLS):
            cycle_began = time.monotonic()
            if cycle_began - began > TOTAL_BUDGET_S:
                run.fail(f"out of time after {cycle} of {KILLS} kills")
            # Let the writers make progress, then kill at a random moment.
            acked_before = sum(w.acked for w in run.writers)
            deadline = time.monotonic() + PROGRESS_TIMEOUT_S
            while sum(w.acked for w in run.writers) < acked_before + WORKERS:
                if time.monotonic() > deadline:
                    run.fail(f"writers made no progress in {PROGRESS_TIMEOUT_S}s")
                time.sleep(0.01)
            time.sleep(run.rng.uniform(0.05, 1.0))
            # Every fourth cycle and the last: a session that is never resumed.
            if cycle % 4 == 1 or cycle == KILLS - 1:
                run.doomed.append(Doomed(len(run.doomed), server.port))
                time.sleep(run.rng.uniform(0.0, 0.2))
            killed_at = time.monotonic()
            server.kill()
            run.kills += 1
            run.gate.pause()
            for d in run.doomed:
                d.session.abandon()
                # Had its deadline passed before the kill, it must have expired then.
                if not d.gone and d.gone_by is not None and killed_at <= d.gone_by:
                    d.gone_by = None
            # Now and then, kill it again 0-100 ms after starting it: during or just after its
            # recovery (loading the snapshot, opening and replaying the log).
            if run.rng.random() < RECOVERY_KILL_CHANCE:
                server.restart(wait=False)
                time.sleep(run.rng.uniform(0.0, 0.1))
                server.kill()
                run.recovery_kills += 1
            run.spawned_at = time.monotonic()
            server.restart()
            run.ready_at = time.monotonic()
            for d in run.doomed:
                if not d.gone and d.gone_by is None:
                    d.gone_by = run.ready_at + DOOMED_TIMEOUT_MS / 1000 + EXPIRY_SLACK_S
            if not run.gate.wait_idle(IDLE_TIMEOUT_S, run.alive_writers):
                run.fail(f"writers still waiting for replies {IDLE_TIMEOUT_S}s after the "
                         f"restart")
            run.await_writers_connected()
            run.verify(verifier)
            run.gate.resume()
            if time.monotonic() - cycle_began > CYCLE_BUDGET_S:
                run.fail(f"cycle {cycle} took {time.monotonic() - cycle_began:.1f}s")

        # The end: stop the writers, check once more (with ephemeral owners), and let every
        # doomed session expire after the last restart.
        run.gate.pause()
        if not run.gate.wait_idle(IDLE_TIMEOUT_S, run.alive_writers):
            run.fail("writers did not stop")
        run.verify(verifier)
        for w in run.writers:
            for path, outcome in w.ephemerals.items():
                stat = verifier.exists(path)
                if stat is not None and stat.ephemeralOwner != w.session_id:
                    run.fail(f"{path} is owned by {stat.ephemeralOwner:#x}, not by its "
                             f"creator {w.session_id:#x}")
        waiting = [d for d in run.doomed if not d.gone]
        assert waiting, "the last cycle's doomed session should outlive the restart"
        deadline = max(d.gone_by for d in waiting) + 1.0
        while time.monotonic() < deadline and verifier.get_children(DOOM):
            time.sleep(0.1)
        run.verify(verifier)
        not_gone = [d.name for d in run.doomed if not d.gone]
        if not_gone:
            run.fail(f"doomed sessions {not_gone} never expired")

        writes = sum(w.acked for w in run.writers)
        no_answer = sum(w.no_answer for w in run.writers)
        unknown = sum(list(t.values()).count(UNKNOWN) for w in run.writers
                      for t in (w.creates, w.ephemerals, w.multis))
        log = server.log()
        snapshots, purges = log.count("snapshot written"), log.count("raft log: purge")
        torn = log.count("torn tail cut off")
        print(f"seed {seed}: {run.kills} kills while writing and {run.recovery_kills} 0-100 ms "
              f"after a start, {writes} acknowledged writes verified after "
              f"every restart ({run.checks} checks), {no_answer} requests without answer "
              f"({unknown} creates/multis of unknown outcome, {run.unknown_present} of them "
              f"applied), "
              f"{sum(d.expired_after_restart for d in run.doomed)}/{len(run.doomed)} doomed "
              f"sessions expired after a restart, {snapshots} snapshots, {purges} log purges, "
              f"{torn} torn log tails cut at start, "
              f"{time.monotonic() - began:.1f}s")
        assert run.kills >= KILLS
        assert all(d.expired_after_restart for d in run.doomed[-1:])
    finally:
        run.gate.finish()
        for w in run.writers:
            w.thread.join(timeout=5)
            w.client.stop()
            w.client.close()
        verifier.stop()
        verifier.close()
