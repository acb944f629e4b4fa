"""A history of client operations, as a fault run records it: each operation has an invocation
(process, function, key, argument, time) and a completion (ok with a result, fail when it
certainly did not happen, or info when its outcome is unknown: a timeout or a lost
connection). Processes are the workload's clients; one process has one operation open at a
time, as a Jepsen process does. Times are time.monotonic() on this machine."""

import threading
import time
from dataclasses import dataclass, field

OK, FAIL, INFO = "ok", "fail", "info"


@dataclass
class Op:
    index: int
    process: int
    f: str
    key: str
    arg: object
    call: float
    ret: float = float("inf")
    status: str = INFO
    result: object = None
    session: int = 0
    extra: dict = field(default_factory=dict)

    def __str__(self):
        ret = "…" if self.ret == float("inf") else f"{self.ret:.4f}"
        return (f"#{self.index} p{self.process} {self.f}({self.key}, {self.arg!r}) "
                f"[{self.call:.4f}, {ret}] {self.status} {self.result!r}")


class History:
    """Thread-safe recorder: `invoke(...)` returns the op; `complete(op, status, result)`."""

    def __init__(self):
        self.ops = []
        self._lock = threading.Lock()

    def invoke(self, process, f, key, arg=None, session=0):
        with self._lock:
            op = Op(len(self.ops), process, f, key, arg, time.monotonic(), session=session)
            self.ops.append(op)
            return op

    def complete(self, op, status, result=None, **extra):
        op.ret = time.monotonic() if status != INFO else float("inf")
        op.status = status
        op.result = result
        op.extra.update(extra)

    def by_key(self):
        keys = {}
        for op in self.ops:
            keys.setdefault(op.key, []).append(op)
        return keys

    def counts(self):
        c = {OK: 0, FAIL: 0, INFO: 0}
        for op in self.ops:
            c[op.status] += 1
        return c
