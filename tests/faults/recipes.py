"""Workloads built the way applications use ZooKeeper:

- counter: an increment is a multi of check(version) and setData(value + 1) on /counter;
  every acknowledged increment must produce its own value, and the final value must lie
  between the acknowledged increments and those plus the ones of unknown outcome;
- fenced leader: candidates queue ephemeral sequential nodes under /election; the lowest
  leads and acts on /resource with a multi of check(its own election node) and setData
  (its token, the node's sequence number). Accepted actions, in the order the resource
  took them (mzxid), must never see the token go down: never two leaders acting with valid
  tokens."""

import time

from kazoo.exceptions import BadVersionError, NoNodeError, RolledBackError

from history import FAIL, INFO, OK
from workloads import UNKNOWN, Worker, _wait


class Counter(Worker):
    PATH = "/counter"

    @classmethod
    def setup(cls, zk):
        zk.ensure_path(cls.PATH)
        zk.set(cls.PATH, b"0")

    def step(self):
        zk = self.client
        try:
            data, stat = _wait(zk.get_async(self.PATH))
        except UNKNOWN:
            return self.new_process()
        value = int(data)
        op = self.history.invoke(self.process, "increment", self.PATH, value,
                                 session=self.session_id())
        try:
            tx = zk.transaction()
            tx.check(self.PATH, stat.version)
            tx.set_data(self.PATH, b"%d" % (value + 1))
            results = _wait(tx.commit_async())
        except UNKNOWN as e:
            self.history.complete(op, INFO, type(e).__name__)
            return self.new_process()
        if any(isinstance(r, (BadVersionError, RolledBackError, NoNodeError)) for r in results):
            return self.history.complete(op, FAIL, "raced")
        self.history.complete(op, OK, value + 1)


def counter_anomalies(ops, final_value):
    """Each acknowledged increment's value is its own, and the final value is between the
    acknowledged increments and those plus the unknown ones."""
    anomalies = []
    done = [op for op in ops if op.f == "increment" and op.status == OK]
    unknown = sum(1 for op in ops if op.f == "increment" and op.status == INFO)
    seen = {}
    for op in done:
        if op.result in seen:
            anomalies.append(f"two increments made {op.result}: {seen[op.result]} and {op}")
        seen[op.result] = op
    if not len(done) <= final_value <= len(done) + unknown:
        anomalies.append(f"counter is {final_value} after {len(done)} acknowledged and "
                         f"{unknown} unknown increments")
    return anomalies


class FencedLeader(Worker):
    PARENT = "/election"
    RESOURCE = "/resource"

    @classmethod
    def setup(cls, zk):
        zk.ensure_path(cls.PARENT)
        zk.ensure_path(cls.RESOURCE)

    def __init__(self, *args):
        super().__init__(*args)
        self.node = None  # this process's election node
        self.node_session = None

    def step(self):
        zk = self.client
        try:
            if self.node is None or self.node_session != self.session_id():
                self.node = _wait(zk.create_async(f"{self.PARENT}/c-", ephemeral=True,
                                                  sequence=True))
                self.node_session = self.session_id()
            children = sorted(_wait(zk.get_children_async(self.PARENT)))
        except UNKNOWN:
            self.node = None
            return self.new_process()
        if not children or f"{self.PARENT}/{children[0]}" != self.node:
            return time.sleep(0.05)  # not the leader: look again soon
        token = int(self.node[-10:])
        op = self.history.invoke(self.process, "act", self.RESOURCE, token,
                                 session=self.session_id())
        try:
            tx = zk.transaction()
            tx.check(self.node, 0)
            tx.set_data(self.RESOURCE, b"%d" % token)
            results = _wait(tx.commit_async())
        except UNKNOWN as e:
            self.history.complete(op, INFO, type(e).__name__)
            self.node = None
            return self.new_process()
        if any(isinstance(r, Exception) for r in results):
            return self.history.complete(op, FAIL, [type(r).__name__ for r in results])
        self.history.complete(op, OK, results[1].mzxid)
        if self.rng.random() < 0.2:
            # Abdicate now and then, so leadership changes hands without faults too.
            try:
                _wait(zk.delete_async(self.node))
            except UNKNOWN:
                self.node = None
                return self.new_process()
            except NoNodeError:
                pass
            self.node = None


def fencing_anomalies(ops):
    """In the order the resource accepted them, the tokens of acting leaders never go
    down."""
    acts = sorted((op for op in ops if op.f == "act" and op.status == OK),
                  key=lambda op: op.result)
    anomalies = []
    for a, b in zip(acts, acts[1:]):
        if b.arg < a.arg:
            anomalies.append(f"token {b.arg} acted after token {a.arg}: {a} then {b}")
    return anomalies
