"""Client workloads of a fault run. Each worker is a thread driving kazoo sessions against the
whole ensemble and recording every operation in the run's History. An operation whose
outcome is unknown (connection loss, a timeout, an expired session) ends its process: the
worker takes a new process number and a new session, as a Jepsen process does.

- register: setData (-1), compare-and-set (setData with a version) and sync-then-getData on
  a few znodes; plain getData too, for the session-order checks;
- burst: ten setData pipelined in one session, answers and mzxids in the order sent;
- queue: sequential creates under one parent, and dequeues (delete the smallest child);
- churn: short sessions that create an ephemeral and then close or vanish."""

import random
import struct
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import (BadVersionError, ConnectionLoss, NodeExistsError, NoNodeError,
                              OperationTimeoutError, SessionExpiredError)
from kazoo.handlers.threading import KazooTimeoutError

from history import FAIL, INFO, OK
from zkwire import RawSession, create_body

OP_TIMEOUT_S = 5.0
SESSION_TIMEOUT_S = 10.0
CHURN_TIMEOUT_MS = 4000
REGISTER_KEYS = 4
UNKNOWN = (ConnectionLoss, SessionExpiredError, OperationTimeoutError, KazooTimeoutError)
BURST = 10
OP_CREATE, EPHEMERAL = 1, 1
# What a raw session meets on a member that dies or refuses it mid-call.
RAW_ERRORS = (OSError, EOFError, ValueError, AssertionError, struct.error)


class Worker(threading.Thread):
    """Runs `step()` until `stop` is set; owns one kazoo session at a time, closed when it
    stops unless `keep_session`."""

    keep_session = False

    def __init__(self, name, history, hosts, rng, stop, processes):
        super().__init__(name=name, daemon=True)
        self.history, self.hosts, self.rng, self.stop_event = history, hosts, rng, stop
        self.processes = processes  # a shared itertools.count
        self.process = next(processes)
        self.client = None
        self.error = None

    def session(self):
        if self.client is None:
            hosts = self.hosts.split(",")
            self.rng.shuffle(hosts)
            c = KazooClient(hosts=",".join(hosts), timeout=SESSION_TIMEOUT_S,
                            connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1},
                            command_retry=None)
            c.start(timeout=30)
            self.client = c
        return self.client

    def session_id(self):
        return self.client.client_id[0] if self.client and self.client.client_id else 0

    def new_process(self):
        """After an unknown outcome: drop the session, carry on as a new process."""
        c, self.client = self.client, None
        self.process = next(self.processes)
        if c is not None:
            threading.Thread(target=_close_quietly, args=(c,), daemon=True).start()

    def run(self):
        try:
            while not self.stop_event.is_set():
                try:
                    self.session()
                except KazooTimeoutError:
                    self.new_process()
                    continue
                self.step()
        except Exception as e:  # noqa: BLE001 - reported by the runner
            self.error = e
        finally:
            if not self.keep_session:
                self.close()

    def close(self):
        if self.client is not None:
            _close_quietly(self.client)
            self.client = None

    def attempt(self, f, key, arg, action, reads=False):
        """Records `action()` (which returns the result) as one op. Errors: a definite one is
        FAIL; an unknown outcome is INFO for a write (FAIL for a read: it changed nothing)
        and ends the process."""
        op = self.history.invoke(self.process, f, key, arg, session=self.session_id())
        try:
            result = action()
        except BadVersionError:
            return self.history.complete(op, OK, "bad-version")
        except (NoNodeError, NodeExistsError) as e:
            return self.history.complete(op, FAIL, type(e).__name__)
        except UNKNOWN as e:
            self.history.complete(op, FAIL if reads else INFO, type(e).__name__)
            return self.new_process()
        self.history.complete(op, OK, result)
        return op


def _close_quietly(c):
    try:
        c.stop()
        c.close()
    except Exception:  # noqa: BLE001 - a session of a faulty ensemble
        pass


def _wait(async_result):
    return async_result.get(timeout=OP_TIMEOUT_S)


class Register(Worker):
    PREFIX = "/reg/k"

    def __init__(self, *args):
        super().__init__(*args)
        self.known = {}

    @classmethod
    def setup(cls, zk):
        for i in range(REGISTER_KEYS):
            zk.ensure_path(f"{cls.PREFIX}{i}")

    def step(self):
        zk = self.client
        key = f"{self.PREFIX}{self.rng.randrange(REGISTER_KEYS)}"
        value = f"p{self.process}-{self.rng.randrange(1 << 30)}".encode()
        roll = self.rng.random()
        if roll < 0.3:
            op = self.attempt("write", key, value,
                              lambda: _wait(zk.set_async(key, value, -1)).version)
        elif roll < 0.6:
            expected = self.known.get(key, 0)
            op = self.attempt("cas", key, (expected, value),
                              lambda: _wait(zk.set_async(key, value, expected)).version)
        elif roll < 0.9:
            def sync_read():
                _wait(zk.sync_async(key))
                data, stat = _wait(zk.get_async(key))
                return (data, stat.version)
            op = self.attempt("read", key, None, sync_read, reads=True)
        else:
            def local_read():
                data, stat = _wait(zk.get_async(key))
                return (data, stat.version)
            op = self.attempt("local-read", key, None, local_read, reads=True)
        if op is not None and op.status == OK:
            if isinstance(op.result, int):
                self.known[key] = op.result
            elif isinstance(op.result, tuple):
                self.known[key] = op.result[1]


class Burst(Worker):
    def step(self):
        zk = self.client
        key = f"/burst/p{self.process}"
        op = self.history.invoke(self.process, "burst", key, BURST, session=self.session_id())
        try:
            zk.ensure_path(key)
            answered, lock = [], threading.Lock()
            results = []
            for i in range(BURST):
                r = zk.set_async(key, f"{i}".encode())
                r.rawlink(lambda _, i=i: _note(lock, answered, i))
                results.append(r)
            stats = [_wait(r) for r in results]
            deadline = time.monotonic() + OP_TIMEOUT_S
            while len(answered) < BURST and time.monotonic() < deadline:
                time.sleep(0.005)
            order = {i: n for n, i in enumerate(answered)}
            self.history.complete(op, OK, [(i, order.get(i, -1), s.mzxid)
                                           for i, s in enumerate(stats)])
        except UNKNOWN as e:
            self.history.complete(op, INFO, type(e).__name__)
            self.new_process()
        time.sleep(0.05)


def _note(lock, answered, i):
    with lock:
        answered.append(i)


class Queue(Worker):
    PARENT = "/queue"

    def step(self):
        zk = self.client
        if self.rng.random() < 0.55:
            self.attempt("enqueue", self.PARENT, None,
                         lambda: _wait(zk.create_async(f"{self.PARENT}/item-", b"x",
                                                       sequence=True)))
            return
        try:
            children = sorted(_wait(zk.get_children_async(self.PARENT)))
        except UNKNOWN:
            return self.new_process()
        for child in children[:3]:
            path = f"{self.PARENT}/{child}"
            op = self.attempt("dequeue", self.PARENT, path,
                              lambda: (_wait(zk.delete_async(path)), path)[1])
            if op is None or op.status != FAIL:
                return


class Churn(Worker):
    """Each step: a raw session on one member creates an ephemeral, then closes (its
    session-ended is then known at once) or vanishes (it ends when it expired: recorded by
    the runner after the run). The worker's kazoo session keeps one ephemeral that must
    outlive the run if the session does."""
    PARENT = "/eph"

    def __init__(self, *args):
        super().__init__(*args)
        self.vanished = []
        self.anchor = None

    def step(self):
        if self.anchor is None:
            self.anchor = self.attempt(
                "create-ephemeral", self.PARENT, None,
                lambda: self.client.create(f"{self.PARENT}/anchor-", ephemeral=True,
                                           sequence=True))
        host = self.rng.choice(self.hosts.split(","))
        ip, port = host.rsplit(":", 1)
        try:
            raw = RawSession(ip, int(port), timeout_ms=CHURN_TIMEOUT_MS, io_timeout_s=3.0)
        except RAW_ERRORS:
            return time.sleep(0.1)
        sid = raw.session_id
        if not sid:
            return time.sleep(0.1)
        path = f"{self.PARENT}/s-{sid:x}"
        op = self.history.invoke(self.process, "create-ephemeral", self.PARENT, path,
                                 session=sid)
        try:
            _, err, _ = raw.call(OP_CREATE, create_body(path, flags=EPHEMERAL))
        except RAW_ERRORS:
            self.history.complete(op, INFO)
            self.vanished.append(sid)
            return raw.abandon()
        self.history.complete(op, OK if err == 0 else FAIL, path if err == 0 else err)
        if self.rng.random() < 0.5:
            end = self.history.invoke(self.process, "session-ended", self.PARENT, session=sid)
            try:
                raw.close_session()
                self.history.complete(end, OK)
            except RAW_ERRORS:
                self.history.complete(end, INFO)
                self.vanished.append(sid)
        else:
            raw.abandon()
            self.vanished.append(sid)

    def anchor_alive(self):
        """Whether the worker's session (and so its anchor ephemeral) is the one it began."""
        return (self.anchor is not None and self.anchor.status == OK and self.client is not None
                and self.client.connected and self.session_id() == self.anchor.session)

