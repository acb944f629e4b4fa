"""The checkers themselves: each must pass a correct history and catch the anomaly it is for,
or a green fault run proves nothing."""

import random

import checks
import recipes
from history import FAIL, INFO, OK, Op
from linearizable import check, versioned_register

INITIAL = (b"", 0)


def op(i, f, arg, call, ret, status=OK, result=None, process=None, session=0, key="k"):
    return Op(i, process if process is not None else i, f, key, arg, call,
              ret if status != INFO else float("inf"), status, result, session)


def lin(ops):
    return check(ops, versioned_register, INITIAL).ok


def test_sequential_history_is_linearizable():
    ops = [op(0, "write", b"a", 0, 1, result=1),
           op(1, "read", None, 2, 3, result=(b"a", 1)),
           op(2, "cas", (1, b"b"), 4, 5, result=2),
           op(3, "read", None, 6, 7, result=(b"b", 2))]
    assert lin(ops)


def test_concurrent_writes_may_land_in_either_order():
    ops = [op(0, "write", b"a", 0, 10, result=2),
           op(1, "write", b"b", 1, 9, result=1),
           op(2, "read", None, 11, 12, result=(b"a", 2))]
    assert lin(ops)


def test_stale_read_after_acknowledged_write_is_caught():
    ops = [op(0, "write", b"a", 0, 1, result=1),
           op(1, "read", None, 2, 3, result=(b"", 0))]
    v = check(ops, versioned_register, INITIAL)
    assert not v.ok and v.stuck_at.index == 1
    assert {o.index for o in v.window} == {1}


def test_two_cas_from_the_same_version_cannot_both_succeed():
    ops = [op(0, "cas", (0, b"a"), 0, 5, result=1),
           op(1, "cas", (0, b"b"), 1, 6, result=1)]
    assert not lin(ops)


def test_bad_version_while_the_version_matched_is_caught():
    ops = [op(0, "cas", (0, b"a"), 0, 1, result="bad-version")]
    assert not lin(ops)
    ops = [op(0, "write", b"x", 0, 1, result=1),
           op(1, "cas", (0, b"a"), 2, 3, result="bad-version")]
    assert lin(ops)


def test_unknown_outcome_may_or_may_not_have_happened():
    lost = op(0, "write", b"a", 0, None, status=INFO)
    assert lin([lost, op(1, "read", None, 5, 6, result=(b"", 0))])
    assert lin([lost, op(1, "read", None, 5, 6, result=(b"a", 1))])
    # But it cannot be undone once seen.
    assert not lin([lost, op(1, "read", None, 5, 6, result=(b"a", 1)),
                    op(2, "read", None, 7, 8, result=(b"", 0))])


def test_failed_ops_did_not_happen():
    ops = [op(0, "write", b"a", 0, 1, status=FAIL),
           op(1, "read", None, 2, 3, result=(b"a", 1))]
    assert not lin(ops)


def test_random_correct_histories_pass_and_corrupted_ones_fail():
    rng = random.Random(7)
    for _ in range(40):
        ops = _random_execution(rng, n=30, processes=4)
        assert lin(ops), "\n".join(map(str, ops))
        reads = [o for o in ops if o.f == "read"]
        victim = rng.choice(reads)
        data, version = victim.result
        victim.result = (data, version + 5)  # a version that never existed
        assert not lin(ops)


def _random_execution(rng, n, processes):
    """A real sequential execution, then each op stretched into an interval around its
    linearization point without a process overlapping itself."""
    state = INITIAL
    free_at = [0.0] * processes
    ops = []
    t = 0.0
    for i in range(n):
        p = min(range(processes), key=lambda q: free_at[q])
        # The linearization point t lies inside [call, ret], after the process is free.
        t = max(t + rng.uniform(0.1, 1.0), free_at[p])
        call = max(free_at[p], t - rng.uniform(0, 2))
        ret = t + rng.uniform(0, 2)
        free_at[p] = ret + 0.01
        kind = rng.choice(["write", "cas", "read"])
        if kind == "write":
            state = (f"v{i}".encode(), state[1] + 1)
            ops.append(op(i, "write", state[0], call, ret, result=state[1], process=p))
        elif kind == "cas":
            expected = state[1] if rng.random() < 0.6 else state[1] + 1
            if expected == state[1]:
                state = (f"v{i}".encode(), state[1] + 1)
                ops.append(op(i, "cas", (expected, state[0]), call, ret, result=state[1],
                              process=p))
            else:
                ops.append(op(i, "cas", (expected, b"no"), call, ret, result="bad-version",
                              process=p))
        else:
            ops.append(op(i, "read", None, call, ret, result=state, process=p))
    return ops


def test_session_order_catches_going_back():
    s = 0x10
    good = [op(0, "write", b"a", 0, 1, result=3, session=s),
            op(1, "local-read", None, 2, 3, result=(b"a", 3), session=s)]
    assert checks.session_order(good) == []
    bad = good + [op(2, "local-read", None, 4, 5, result=(b"", 2), session=s)]
    assert len(checks.session_order(bad)) == 1


def test_pipelined_order_catches_reordering():
    good = op(0, "burst", None, 0, 1, result=[(0, 0, 5), (1, 1, 6), (2, 2, 9)])
    bad = op(1, "burst", None, 0, 1, result=[(0, 0, 5), (1, 1, 9), (2, 2, 6)])
    assert checks.pipelined_order([good]) == []
    assert len(checks.pipelined_order([bad])) == 1


def test_sequential_names_catch_duplicates_and_going_back():
    a = op(0, "enqueue", None, 0, 1, result="/q/item-0000000002")
    b = op(1, "enqueue", None, 2, 3, result="/q/item-0000000001")
    c = op(2, "enqueue", None, 4, 5, result="/q/item-0000000002")
    assert checks.sequential_names([b]) == []
    assert len(checks.sequential_names([a, b])) == 1
    assert any("twice" in x for x in checks.sequential_names([a, c]))


def test_queue_items_catch_loss_and_double_dequeue():
    e1 = op(0, "enqueue", None, 0, 1, result="/q/i1")
    e2 = op(1, "enqueue", None, 0, 1, result="/q/i2")
    d1 = op(2, "dequeue", "/q/i1", 2, 3, result="/q/i1")
    assert checks.queue_items([e1, e2, d1], remaining={"/q/i2"}) == []
    assert any("lost" in x for x in checks.queue_items([e1, e2, d1], remaining=set()))
    d2 = op(3, "dequeue", "/q/i1", 4, 5, result="/q/i1")
    assert any("twice" in x for x in checks.queue_items([e1, e2, d1, d2], {"/q/i2"}))
    maybe = op(4, "dequeue", "/q/i2", 4, None, status=INFO)
    assert checks.queue_items([e1, e2, d1, maybe], remaining=set()) == []


def test_ephemerals_catch_survivors_of_ended_sessions():
    s = 0x20
    create = op(0, "create-ephemeral", None, 0, 1, result="/e/a", session=s)
    ended = op(1, "session-ended", None, 2, 3, session=s)
    assert checks.ephemerals([create, ended], final_nodes={}) == []
    assert len(checks.ephemerals([create, ended], final_nodes={"/e/a": s})) == 1


def test_counter_catches_duplicate_values_and_lost_increments():
    a = op(0, "increment", 0, 0, 1, result=1)
    b = op(1, "increment", 1, 2, 3, result=2)
    lost = op(2, "increment", 2, 4, None, status=INFO)
    assert recipes.counter_anomalies([a, b, lost], final_value=2) == []
    assert recipes.counter_anomalies([a, b, lost], final_value=3) == []
    assert len(recipes.counter_anomalies([a, b], final_value=1)) == 1
    twin = op(3, "increment", 0, 0, 1, result=1)
    assert any("two increments" in x for x in recipes.counter_anomalies([a, twin], 2))


def test_fencing_catches_an_old_token_acting_after_a_newer_one():
    new = op(0, "act", 7, 0, 1, result=100)
    old = op(1, "act", 5, 0, 1, result=101)
    assert recipes.fencing_anomalies([op(2, "act", 5, 0, 1, result=90), new]) == []
    assert len(recipes.fencing_anomalies([new, old])) == 1
