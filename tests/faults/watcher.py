"""A watcher of the register keys that reads a key only when a watch event says it changed:
a getData with a one-shot watch on every key once per connection, then one more getData (and
watch) per event. (kazoo drops its watches when a connection is lost, telling each with a
NONE event, and sets none again on the next connection: the watcher reads every key again.) Its reads go into the history as plain reads of its session (versions must
never go back), and once the run is over and healed, its view of every key must reach the
final version by events alone: an event lost is a view stuck behind."""

import queue
import time

from kazoo.protocol.states import EventType

from history import FAIL, OK
from workloads import REGISTER_KEYS, UNKNOWN, Register, Worker, _wait

SETTLE_S = 20.0


class Watcher(Worker):
    # settle() still needs the session after the run: it closes it itself.
    keep_session = True

    def __init__(self, *args):
        super().__init__(*args)
        self.events = queue.Queue()
        self.watched_session = None
        self.view = {}  # key -> latest version this watcher read

    def keys(self):
        return [f"{Register.PREFIX}{i}" for i in range(REGISTER_KEYS)]

    def step(self):
        self.resync()
        try:
            event = self.events.get(timeout=0.2)
        except queue.Empty:
            return
        self.handle(event)

    def resync(self):
        """On a new connection (or session): read and watch every key again."""
        if self.watched_session == self.session_id() or not self.client.connected:
            return
        self.watched_session = self.session_id()
        for key in self.keys():
            if not self.read(key):
                return

    def handle(self, event):
        if event.type == EventType.CHANGED:
            self.read(event.path)
        elif event.type == EventType.NONE:
            self.watched_session = None  # the connection was lost: resync once connected

    def read(self, key):
        """getData with a watch; False when the session is gone (the worker starts over)."""
        op = self.history.invoke(self.process, "local-read", key, session=self.session_id())
        try:
            data, stat = _wait(self.client.get_async(key, watch=self.events.put))
        except UNKNOWN as e:
            self.history.complete(op, FAIL, type(e).__name__)
            self.watched_session = None
            self.new_process()
            return False
        self.history.complete(op, OK, (data, stat.version))
        self.view[key] = max(self.view.get(key, -1), stat.version)
        return True

    def settle(self, finals):
        """After the run: waits (bounded) until events alone brought every key's view to its
        final version; returns the anomalies if they did not."""
        try:
            return self._settle(finals)
        finally:
            self.keep_session = False
            self.close()

    def _settle(self, finals):
        deadline = time.monotonic() + SETTLE_S
        if self.client is None:
            # The session ended with the run: a new one reads every key (and proves less).
            self.session()
        while time.monotonic() < deadline:
            if self.client is None:
                return [f"watcher lost its session while settling at {self.view}"]
            self.resync()
            if all(self.view.get(k) == v for k, (_, v) in finals.items()):
                return []
            try:
                self.handle(self.events.get(timeout=0.2))
            except queue.Empty:
                continue
        return [f"watcher (session {self.session_id():#x}) stuck at version "
                f"{self.view.get(k)} of {k}, final {v}: a watch event was lost"
                for k, (_, v) in finals.items() if self.view.get(k) != v]
