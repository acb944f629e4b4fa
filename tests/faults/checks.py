"""The properties a fault run checks besides linearizability. Each check returns a list of
anomalies (strings, each naming the ops that show it); an empty list means it holds."""

from history import OK


def _ok(ops, f):
    return [op for op in ops if op.f == f and op.status == OK]


def session_order(ops):
    """Per session, FIFO and read-your-writes: a session's acknowledged writes to a key get
    increasing versions in the order it issued them, and a plain (unsynced) read by the same
    session after its write was acknowledged sees that version or a later one. Across one
    session's reads of a key, versions never go back (monotonic reads)."""
    anomalies = []
    seen = {}  # (session, key) -> (version, op) the session knows of
    for op in sorted((o for o in ops if o.status == OK and o.session), key=lambda o: o.call):
        if op.f in ("write", "cas") and op.result != "bad-version":
            version = op.result
        elif op.f in ("read", "local-read"):
            version = op.result[1]
        else:
            continue
        known = seen.get((op.session, op.key))
        if known and version < known[0]:
            anomalies.append(f"session {op.session:#x} saw version {version} of {op.key} after "
                             f"version {known[0]}: {known[1]} then {op}")
        if not known or version > known[0]:
            seen[(op.session, op.key)] = (version, op)
    return anomalies


def pipelined_order(ops):
    """FIFO within a session's pipeline: a burst of writes sent without waiting must be
    applied (mzxid) and answered in the order sent. Each "burst" op's result is the list of
    (position sent, position answered, mzxid)."""
    anomalies = []
    for op in _ok(ops, "burst"):
        answered = [a for _, a, _ in op.result]
        zxids = [z for _, _, z in op.result]
        if answered != sorted(answered) or zxids != sorted(zxids) or len(set(zxids)) != len(zxids):
            anomalies.append(f"burst out of order (sent, answered, mzxid): {op.result}: {op}")
    return anomalies


def sequential_names(ops):
    """Sequential creates under one parent: names unique; one acknowledged before another was
    invoked has the smaller sequence number."""
    anomalies = []
    created = sorted(_ok(ops, "enqueue"), key=lambda o: o.ret)
    by_name = {}
    for op in created:
        other = by_name.setdefault(op.result, op)
        if other is not op:
            anomalies.append(f"sequential name {op.result} given twice: {other} and {op}")
    # One sweep in call order: each create must top every create acknowledged before its call.
    done, highest = 0, None
    for b in sorted(created, key=lambda o: o.call):
        while done < len(created) and created[done].ret < b.call:
            a = created[done]
            if highest is None or _seq(a.result) > _seq(highest.result):
                highest = a
            done += 1
        if highest is not None and _seq(b.result) <= _seq(highest.result):
            anomalies.append(f"sequence not increasing in real time: {highest} then {b}")
    return anomalies


def _seq(name):
    return int(name[-10:])


def queue_items(ops, remaining):
    """Every acknowledged enqueue is dequeued exactly once or still queued (`remaining`: the
    names left at the end), unless a dequeue of unknown outcome tried it; nothing dequeued
    that no enqueue could have made."""
    anomalies = []
    enqueued = {op.result: op for op in _ok(ops, "enqueue")}
    unknown_enqueue = any(op.f == "enqueue" and op.status != OK for op in ops)
    maybe_taken = {op.arg for op in ops if op.f == "dequeue" and op.status != OK}
    taken = {}
    for op in _ok(ops, "dequeue"):
        if op.result in taken:
            anomalies.append(f"{op.result} dequeued twice: {taken[op.result]} and {op}")
        taken[op.result] = op
        if op.result not in enqueued and not unknown_enqueue:
            anomalies.append(f"{op.result} dequeued but never enqueued: {op}")
    for name, op in enqueued.items():
        if name not in taken and name not in remaining and name not in maybe_taken:
            anomalies.append(f"acknowledged enqueue lost: {op}")
    return anomalies


def ephemerals(ops, final_nodes):
    """`final_nodes`: {path: ephemeralOwner} read at the end. An ephemeral whose session was
    seen expired (or closed) must be gone; one of a session still alive must be there."""
    anomalies = []
    ended = {op.session for op in ops if op.f == "session-ended" and op.status == OK}
    for op in _ok(ops, "create-ephemeral"):
        present = op.result in final_nodes
        if op.session in ended and present:
            anomalies.append(f"ephemeral {op.result} outlived its session {op.session:#x}: {op}")
        if op.session not in ended and not present and op.extra.get("alive_at_end"):
            anomalies.append(f"ephemeral {op.result} of a live session is gone: {op}")
    return anomalies
