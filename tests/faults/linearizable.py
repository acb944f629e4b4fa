"""Linearizability of one key's history against a sequential model, by the Wing–Gong search
with Lowe's memoization (the algorithm Porcupine and Knossos' "wgl" use): walk the calls and
returns in real-time order; at a call, try to linearize that operation now (the model must
accept it from the current state) and continue; at a return whose operation is not yet
linearized, undo the last choice. A (set of linearized ops, state) pair seen before is not
explored again. Operations of unknown outcome (info) may take effect at any point after
their call, or never.

A model is `step(state, op) -> list of next states` (empty: `op` cannot happen in `state`).
An op with an unknown outcome gets `state` itself as one more choice."""

from dataclasses import dataclass

from history import FAIL, INFO, OK


@dataclass
class Verdict:
    ok: bool
    # When not: the ops that could not be ordered, and the ones they overlap.
    stuck_at: object = None
    window: tuple = ()


class _Node:
    __slots__ = ("op", "is_call", "match", "prev", "next")

    def __init__(self, op, is_call):
        self.op, self.is_call = op, is_call
        self.match = self.prev = self.next = None


def _event_list(ops):
    events = []
    for op in ops:
        call, ret = _Node(op, True), _Node(op, False)
        call.match = ret
        events.append((op.call, 0, call))
        events.append((op.ret, 1, ret))
    # At equal times a call sorts first: the two ops count as overlapping (fewer constraints).
    events.sort(key=lambda e: (e[0], e[1]))
    head = _Node(None, False)
    prev = head
    for _, _, node in events:
        prev.next, node.prev = node, prev
        prev = node
    return head


def _lift(call):
    call.prev.next = call.next
    call.next.prev = call.prev
    ret = call.match
    ret.prev.next = ret.next
    if ret.next is not None:
        ret.next.prev = ret.prev


def _unlift(call):
    ret = call.match
    ret.prev.next = ret
    if ret.next is not None:
        ret.next.prev = ret
    call.prev.next = call
    call.next.prev = call


class _Frame:
    __slots__ = ("call", "before", "rest", "after", "lin")

    def __init__(self, call, before, rest, after, lin):
        self.call, self.before, self.rest, self.after, self.lin = call, before, rest, after, lin


def check(ops, step, initial, max_steps=2_000_000):
    """Whether `ops` (one key; FAIL ops are dropped: they did not happen) is linearizable."""
    ops = [op for op in ops if op.status != FAIL]
    bit = {op.index: 1 << i for i, op in enumerate(ops)}
    head = _event_list(ops)
    state, linearized = initial, 0
    seen, stack = set(), []
    entry = head.next
    furthest = None
    for _ in range(max_steps):
        if head.next is None:
            return Verdict(True)
        if entry.is_call:
            choices = step(state, entry.op)
            if entry.op.status == INFO:
                choices = choices + [state]
            if _push(entry, choices, state, linearized | bit[entry.op.index], seen, stack):
                state, linearized = stack[-1].after, stack[-1].lin
                _lift(entry)
                entry = head.next
            else:
                entry = entry.next
            continue
        # A return whose op could not be linearized yet: undo the latest choice.
        if furthest is None or entry.op.ret > furthest.op.ret:
            furthest = entry
        if not stack:
            return Verdict(False, furthest.op, _window(ops, furthest.op))
        frame = stack.pop()
        _unlift(frame.call)
        state, linearized = frame.before, frame.lin & ~bit[frame.call.op.index]
        if _push(frame.call, frame.rest, state, frame.lin, seen, stack):
            state, linearized = stack[-1].after, stack[-1].lin
            _lift(frame.call)
            entry = head.next
        else:
            entry = frame.call.next
    raise RuntimeError(f"linearizability search gave up after {max_steps} steps")


def _push(call, choices, before, lin, seen, stack):
    """Takes the first of `choices` (states after `call`) not explored with the same set of
    linearized ops; False when there is none."""
    for i, after in enumerate(choices):
        if (lin, after) in seen:
            continue
        seen.add((lin, after))
        stack.append(_Frame(call, before, choices[i + 1:], after, lin))
        return True
    return False


def _window(ops, stuck):
    """The ops of this key that overlap the stuck op or complete before it returns and after
    the earliest op still open then: a short history that shows the anomaly."""
    start = min((op.call for op in ops if op.ret >= stuck.call), default=stuck.call)
    return tuple(op for op in ops if op.call <= stuck.ret and op.ret >= start)


def versioned_register(state, op):
    """ZooKeeper's setData/getData on one znode as a model. State: (data, version).
    f = "write" (setData -1; ok result: the new version), "cas" (arg (expected version, data);
    ok result: the new version; fail BadVersion is recorded as ok with result "bad-version"),
    "read" (a sync-then-getData; ok result (data, version))."""
    data, version = state
    if op.f == "read":
        if op.status == INFO:
            return []
        return [state] if tuple(op.result) == state else []
    if op.f == "write":
        if op.status == OK and op.result != version + 1:
            return []
        return [(op.arg, version + 1)]
    if op.f == "cas":
        expected, new = op.arg
        if op.status == OK and op.result == "bad-version":
            return [state] if version != expected else []
        if version != expected or (op.status == OK and op.result != version + 1):
            return []
        return [(new, version + 1)]
    raise ValueError(f"unknown register op {op.f}")
