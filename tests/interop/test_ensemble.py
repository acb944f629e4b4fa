"""Replicated ensembles end to end, with kazoo: leader election, reads and writes through
followers and observers, SIGKILLed leaders and followers, lost and regained quorums, and
sessions that move from a dead member to a live one. Each test starts its own ensemble
(corral, or Apache ZooKeeper 3.8 with CORRAL_TEST_TARGET=zookeeper) on free ports; every wait
is bounded and every loop counted."""

import os
import shutil
import signal
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (ConnectionClosedError, ConnectionLoss, NodeExistsError,
                              OperationTimeoutError, SessionExpiredError)
from kazoo.protocol.states import KazooState

import kazoo_ext
import zkwire
from ensemble import NOT_SERVING, session_refused
from zkwire import four_letter

CONNECT_TIMEOUT_S = 30.0
SESSION_TIMEOUT_S = 10.0
# From a SIGKILL to a new leader with settled followers, and to a write that succeeds again.
FAILOVER_S = 30.0
# From losing a quorum to a member saying it does not serve.
STEP_DOWN_S = 20.0
CONVERGE_S = 60.0
# Raised when a request got no answer (its outcome is unknown) or the session ended.
UNANSWERED = (ConnectionLoss, ConnectionClosedError, OperationTimeoutError, SessionExpiredError)


@pytest.fixture
def client(make_client):
    """`client(hosts, **kazoo_kwargs)`: a connected KazooClient that retries connecting
    (through the connect string's members) until stopped at teardown."""

    def make(hosts, **kwargs):
        kwargs.setdefault("timeout", SESSION_TIMEOUT_S)
        return make_client(hosts, connect_timeout_s=CONNECT_TIMEOUT_S,
                           connection_retry={"max_tries": -1, "delay": 0.05, "max_delay": 0.5},
                           **kwargs)

    return make


def children_on(client, member, path):
    """The children of `path` as `member` alone has them, without a sync: a connect string
    of one member cannot be served by another."""
    c = client(member.host)
    try:
        return set(c.get_children(path))
    finally:
        c.stop()


def synced_children_on(client, member, path):
    """The children of `path` read from `member` after a sync: all that was committed."""
    c = client(member.host)
    try:
        c.sync(path)
        return set(c.get_children(path))
    finally:
        c.stop()


def followers(ens, leader):
    return [m for m in ens.members if m is not leader and not m.observer]


def in_role(ens, role):
    """The leader or a follower, as `role` says, and the other members."""
    leader = ens.leader(FAILOVER_S)
    member = leader if role == "leader" else followers(ens, leader)[0]
    return member, [m for m in ens.members if m is not member]


def await_until(cond, timeout_s, what, poll_s=0.05):
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"timed out after {timeout_s}s: {what}"
        time.sleep(poll_s)


def write_until_acked(c, path, timeout_s):
    """Retries a create of `path` (through a client that fails over by itself) until one is
    acknowledged; an unanswered attempt may have applied, so NodeExists counts as done."""
    deadline = time.monotonic() + timeout_s
    for _ in range(10_000):
        try:
            c.create(path, b"x")
            return
        except NodeExistsError:
            return
        except UNANSWERED:
            assert time.monotonic() < deadline, f"no write acknowledged within {timeout_s}s"
            time.sleep(0.1)
    raise AssertionError("write loop bound reached")


# ---------------------------------------------------------------- election


@pytest.mark.parametrize("voters", [3, 5])
def test_ensemble_elects_exactly_one_leader(start_ensemble, voters):
    ens = start_ensemble(voters=voters)
    leader = ens.leader(FAILOVER_S)
    modes = ens.modes()
    assert sorted(modes.values()) == ["follower"] * (voters - 1) + ["leader"], modes
    assert modes[leader.id] == "leader"
    # Still so a little later: no member keeps electing.
    time.sleep(1.0)
    assert ens.modes() == modes
    assert ens.leader(FAILOVER_S) is leader
    if ens.kind == "corral":
        # corral's srvr and mntr also name the leader (ZooKeeper's do not).
        for m in ens.members:
            assert f"\nLeader: {leader.id}\n" in m.srvr(), m
            assert f"zk_leader_id\t{leader.id}\n" in four_letter(m.port, "mntr"), m


# ---------------------------------------------------------------- reads and writes


def test_write_through_follower_reads_own_writes_and_syncs_everywhere(start_ensemble, client):
    ens = start_ensemble()
    leader = ens.leader(FAILOVER_S)
    follower = followers(ens, leader)[0]
    c = client(follower.host)
    c.create("/ryw", b"")
    # The follower forwards each write to the leader; its own client must then read it at
    # once, from the follower, with no sync.
    for i in range(50):
        path = f"/ryw/n{i}"
        c.create(path, f"v{i}".encode())
        assert c.get(path)[0] == f"v{i}".encode(), path
        c.set("/ryw", f"{i}".encode())
        data, stat = c.get("/ryw")
        assert (data, stat.version) == (f"{i}".encode(), i + 1)
    want = {f"n{i}" for i in range(50)}
    for m in ens.members:
        other = client(m.host)
        other.sync("/ryw")
        data, stat = other.get("/ryw")
        assert (data, stat.version) == (b"49", 50), f"member {m.id} after sync"
        assert set(other.get_children("/ryw")) == want, f"member {m.id} after sync"


# ---------------------------------------------------------------- leader crash


class Writer:
    """A kazoo session creating unique znodes in a loop, counting the acknowledged ones. A
    create without an answer (ConnectionLoss, SessionExpired) has an unknown outcome and is
    neither counted nor retried."""

    def __init__(self, idx, hosts, root):
        self.idx = idx
        self.root = root
        self.acked = []
        self.unanswered = 0
        self.error = None
        self.stop = threading.Event()
        self.client = KazooClient(
            hosts=hosts, timeout=SESSION_TIMEOUT_S,
            connection_retry={"max_tries": -1, "delay": 0.05, "max_delay": 0.5},
            command_retry={"max_tries": 0})
        self.client.start(timeout=CONNECT_TIMEOUT_S)
        self.thread = threading.Thread(target=self._run, name=f"writer-{idx}", daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for seq in range(1_000_000):
                if self.stop.is_set():
                    return
                path = f"{self.root}/w{self.idx}-{seq}"
                try:
                    self.client.create(path, path.encode())
                    self.acked.append(path.rsplit("/", 1)[1])
                except UNANSWERED:
                    self.unanswered += 1
                    # Let the client fail over instead of spinning on ConnectionLoss.
                    self.stop.wait(0.05)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def acks(self):
        return len(self.acked)

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=SESSION_TIMEOUT_S + 5)
        assert not self.thread.is_alive(), f"writer {self.idx} did not stop"
        self.client.stop()
        self.client.close()


def await_acks(writers, at_least, timeout_s, what):
    await_until(lambda: all(w.acks() >= at_least[w.idx] for w in writers) or
                any(w.error for w in writers), timeout_s, what)
    errors = [w.error for w in writers if w.error]
    assert not errors, f"writers failed: {errors}"


def test_leader_sigkill_while_writing_loses_no_acknowledged_write(start_ensemble, client):
    ens = start_ensemble()
    leader = ens.leader(FAILOVER_S)
    client(ens.hosts).create("/kill")
    writers = [Writer(i, ens.hosts, "/kill") for i in range(3)]
    try:
        await_acks(writers, {w.idx: 20 for w in writers}, FAILOVER_S,
                   "every writer has 20 acknowledged creates")
        before = {w.idx: w.acks() for w in writers}
        leader.kill()
        killed_at = time.monotonic()
        new_leader = ens.leader(FAILOVER_S)
        assert new_leader is not leader
        # Writes go through again: every writer gets 20 more acknowledged.
        await_acks(writers, {i: n + 20 for i, n in before.items()}, FAILOVER_S,
                   "every writer has 20 more acknowledged creates after the leader's kill")
        resumed_s = time.monotonic() - killed_at
    finally:
        for w in writers:
            w.finish()
    acked = {name for w in writers for name in w.acked}
    survivors = [m for m in ens.members if m is not leader]
    for m in survivors:
        missing = acked - synced_children_on(client, m, "/kill")
        assert not missing, f"member {m.id} lacks acknowledged {sorted(missing)[:10]}"
    leader.restart()
    ens.wait_converged(CONVERGE_S)
    # Same zxid as the others: the restarted member has applied everything, no sync needed.
    missing = acked - children_on(client, leader, "/kill")
    assert not missing, f"restarted member {leader.id} lacks {sorted(missing)[:10]}"
    print(f"{len(acked)} acknowledged creates, "
          f"{sum(w.unanswered for w in writers)} unanswered; writes resumed {resumed_s:.1f}s "
          f"after the kill; new leader {new_leader.id}")


# ---------------------------------------------------------------- follower catch-up


SNAP_WRITES = 2000
WINDOW = 100


def create_many(c, root, n):
    """Creates root/k0..k{n-1} with `WINDOW` requests in flight at a time."""
    for start in range(0, n, WINDOW):
        pending = [c.create_async(f"{root}/k{i}", str(i).encode())
                   for i in range(start, min(n, start + WINDOW))]
        for p in pending:
            p.get(timeout=CONNECT_TIMEOUT_S)


def snapshot_files(member):
    """The snapshot files under a member's dataDir: ZooKeeper (version-2/) and corral
    (snapshots/) both name them snapshot.<zxid>."""
    return [f for _, _, files in os.walk(member.data_dir) for f in files
            if f.startswith("snapshot.")]


def test_killed_follower_catches_up_after_snapshots_and_purges(start_ensemble, client):
    # A snapshot every ~100 transactions and only the newest 3 kept: corral's leader no longer
    # has the log from where the follower stopped, so it must send a snapshot. (ZooKeeper
    # keeps its logs without autopurge.purgeInterval, but it too sends a snapshot here: the
    # gap is longer than the proposals it keeps in memory and than a third of a snapshot.)
    ens = start_ensemble(extra_cfg={"snapCount": "100", "autopurge.snapRetainCount": "3"})
    leader = ens.leader(FAILOVER_S)
    behind = followers(ens, leader)[0]
    c = client(leader.host)
    c.create("/snap", b"")
    behind.kill()
    began = time.monotonic()
    create_many(c, "/snap", SNAP_WRITES)
    wrote_s = time.monotonic() - began
    # The leader did snapshot while the follower was away (else this tests a plain log
    # replay). ZooKeeper also writes an empty snapshot.0 at its first start.
    assert len(snapshot_files(leader)) >= 2, snapshot_files(leader)
    behind.restart()
    ens.wait_converged(CONVERGE_S)
    have = children_on(client, behind, "/snap")
    want = {f"k{i}" for i in range(SNAP_WRITES)}
    assert have == want, (f"member {behind.id} after catching up: {len(have)} znodes, "
                          f"missing {sorted(want - have)[:10]}")
    d = client(behind.host)
    for i in (0, SNAP_WRITES // 2, SNAP_WRITES - 1):
        assert d.get(f"/snap/k{i}")[0] == str(i).encode()
    # The file corral streamed the leader's snapshot into is gone once it is installed.
    left = [f for f in snapshot_files(behind) if "receiving" in f]
    assert not left, left
    print(f"{SNAP_WRITES} creates in {wrote_s:.1f}s")


def test_watch_on_a_member_that_installs_a_snapshot_is_not_silently_lost(start_ensemble,
                                                                           client):
    # A follower paused while the leader snapshots and purges its log gets a snapshot when it
    # resumes: its tree is replaced wholesale. A watch its client set must not stay armed on
    # a node the snapshot changed as if nothing happened: the client either gets the change
    # event or loses its connection (ZooKeeper's learner closes its clients when it resyncs;
    # the client then sets its watches again, or, as kazoo does, tells each with a NONE event).
    ens = start_ensemble(extra_cfg={"snapCount": "100", "autopurge.snapRetainCount": "3"})
    leader = ens.leader(FAILOVER_S)
    paused = followers(ens, leader)[0]
    w = client(",".join(m.host for m in ens.members if m is not paused))
    w.create("/snapwatch", b"before")
    watcher = client(paused.host)
    events = []
    told = threading.Event()
    watcher.get("/snapwatch", watch=lambda e: (events.append(e), told.set()))
    paused.proc.send_signal(signal.SIGSTOP)
    try:
        w.set("/snapwatch", b"after")
        w.create("/snapwatch-fill")
        create_many(w, "/snapwatch-fill", 600)
    finally:
        paused.proc.send_signal(signal.SIGCONT)
    assert told.wait(CONVERGE_S), ("a watch on a member that caught up through a snapshot "
                                   "was neither fired nor dropped")
    assert events[0].type in ("CHANGED", "NONE"), events


WIPE_WRITES = 1000


@pytest.mark.parametrize("role", ["follower", "leader"])
def test_member_whose_data_directory_was_deleted_rejoins(start_ensemble, client, role):
    # The lost member comes back at once with its myid and nothing else, as after a disk
    # swap. The leader has snapshotted and purged its log, and remembers how far the lost
    # member's log went: it must forget that and send a snapshot (openraft's
    # loosen-follower-log-revert). The lost member had voted and forgot it, so it must not
    # take part in an election until a leader has brought it in.
    ens = start_ensemble(extra_cfg={"snapCount": "300"})
    leader = ens.leader(FAILOVER_S)
    c = client(ens.hosts)
    c.create("/wiped", b"")
    for i in range(WIPE_WRITES):
        c.create(f"/wiped/k{i}", str(i).encode())
    lost = leader if role == "leader" else followers(ens, leader)[0]
    lost.kill()
    for entry in os.listdir(lost.data_dir):
        if entry != "myid":
            path = os.path.join(lost.data_dir, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    lost.restart(wait=False)
    ens.wait_whole(CONVERGE_S, converged=True)
    have = children_on(client, lost, "/wiped")
    assert len(have) == WIPE_WRITES, f"member {lost.id} has {len(have)} of {WIPE_WRITES}"
    assert client(lost.host).get(f"/wiped/k{WIPE_WRITES - 1}")[0] == b"%d" % (WIPE_WRITES - 1)


# ---------------------------------------------------------------- quorum


def test_five_members_keep_serving_with_two_killed(start_ensemble, client):
    ens = start_ensemble(voters=5)
    leader = ens.leader(FAILOVER_S)
    victims = [leader, followers(ens, leader)[0]]
    for m in victims:
        m.kill()
    new_leader = ens.leader(FAILOVER_S)
    assert new_leader not in victims
    survivors = [m for m in ens.members if m not in victims]
    c = client(ens.hosts_of(m.id for m in survivors))
    write_until_acked(c, "/five", FAILOVER_S)
    for i in range(20):
        c.create(f"/five/n{i}")
    want = {f"n{i}" for i in range(20)}
    for m in survivors:
        assert synced_children_on(client, m, "/five") == want, f"member {m.id}"


@pytest.mark.parametrize("survivor_role", ["follower", "leader"])
def test_three_members_with_two_killed_stop_serving_until_one_returns(
        start_ensemble, client, survivor_role):
    ens = start_ensemble()
    survivor, victims = in_role(ens, survivor_role)
    client(survivor.host).create("/before", b"1")
    # A session that stays open while its client is away, to be resumed without a quorum.
    away = zkwire.RawSession("127.0.0.1", survivor.port, timeout_ms=30000)
    away.abandon()
    for m in victims:
        m.kill()
    # A leader left alone must step down too: it can commit nothing.
    await_until(lambda: survivor.mode() is None, STEP_DOWN_S,
                f"the {survivor_role} left alone stops serving")
    out = four_letter(survivor.port, "srvr")
    assert out == NOT_SERVING + "\n", out
    assert session_refused(survivor.port, timeout_s=10.0), \
        "a member without a quorum handed out a new session"
    assert session_refused(survivor.port, 10.0, away.session_id, away.handshake["passwd"]), \
        "a member without a quorum let a session resume"
    victims[0].restart(wait=False)
    ens.leader(FAILOVER_S)
    victims[0].wait_serving()
    c = client(survivor.host)
    c.create("/after", b"2")
    assert c.get("/before")[0] == b"1"
    assert set(synced_children_on(client, victims[0], "/")) >= {"before", "after"}


# ---------------------------------------------------------------- sessions


def connected_member(ens, session_id):
    """The live member whose `cons` lists the session, or None."""
    sid = f"sid=0x{session_id:x},"
    on = [m for m in ens.live() if sid in four_letter(m.port, "cons")]
    assert len(on) <= 1, f"session 0x{session_id:x} listed by members {[m.id for m in on]}"
    return on[0] if on else None


@pytest.mark.parametrize("victim_role", ["follower", "leader"])
def test_session_moves_to_another_member_with_ephemeral_and_watches(
        start_ensemble, client, victim_role):
    ens = start_ensemble()
    victim, others = in_role(ens, victim_role)
    # randomize_hosts=False: kazoo tries the members in this order, so it starts on the victim.
    c = client(ens.hosts_of([victim.id] + [m.id for m in others]), randomize_hosts=False)
    session_id = c.client_id[0]
    assert connected_member(ens, session_id) is victim
    states = []
    c.add_listener(states.append)
    tap = kazoo_ext.EventTap(c)
    c.create("/moved", b"0")
    c.create("/moved/later", b"0")
    c.create("/moved/eph", b"", ephemeral=True)
    c.get("/moved", watch=lambda e: None)
    c.get("/moved/later", watch=lambda e: None)
    seen_zxid = c.last_zxid

    victim.kill()
    await_until(lambda: c.connected and KazooState.SUSPENDED in states, FAILOVER_S,
                f"the client reconnects after member {victim.id} died (states {states})")
    assert KazooState.LOST not in states, states
    assert c.client_id[0] == session_id, "the client got a new session"
    assert connected_member(ens, session_id) in others
    assert c.exists("/moved/eph").ephemeralOwner == session_id
    writer = client(ens.hosts_of(m.id for m in others))
    assert writer.exists("/moved/eph").ephemeralOwner == session_id

    # Re-arm both data watches on the new member, as the Java and C clients do on every
    # reconnect (kazoo drops them instead). /moved/later changed after the zxid the client
    # last saw, so its watch fires at once; /moved's fires on the next change.
    writer.set("/moved/later", b"1")
    kazoo_ext.set_watches(c, seen_zxid, data=["/moved", "/moved/later"])
    assert tap.wait_for(1) == [("CHANGED", "/moved/later")]
    writer.set("/moved", b"1")
    assert tap.wait_for(2) == [("CHANGED", "/moved/later"), ("CHANGED", "/moved")]


# ---------------------------------------------------------------- observers


def test_observer_serves_and_forwards_but_needs_a_quorum(start_ensemble, client):
    ens = start_ensemble(voters=3, observers=1)
    leader = ens.leader(FAILOVER_S)
    observer = next(m for m in ens.members if m.observer)
    assert observer.mode() == "observer"
    c = client(observer.host)
    c.create("/obs", b"")
    for i in range(10):
        c.create(f"/obs/n{i}", str(i).encode())
        assert c.get(f"/obs/n{i}")[0] == str(i).encode()
    want = {f"n{i}" for i in range(10)}
    for m in ens.members:
        assert synced_children_on(client, m, "/obs") == want, f"member {m.id}"

    # Two of three voters gone: the observer cannot get a write committed.
    victims = [leader, followers(ens, leader)[0]]
    for m in victims:
        m.kill()
    await_until(lambda: observer.mode() is None, STEP_DOWN_S,
                "the observer stops serving without a quorum of voters")
    assert session_refused(observer.port, timeout_s=10.0), \
        "an observer without a quorum handed out a session"
    with pytest.raises(UNANSWERED + (c.handler.timeout_exception,)):
        c.create_async("/obs/lost", b"").get(timeout=3.0)
    # Stopped, so that kazoo cannot send the refused create once the quorum is back.
    c.stop()

    # One voter back: a quorum again, and the observer serves (and forwards) again.
    victims[0].restart(wait=False)
    ens.leader(FAILOVER_S)
    observer.wait_serving()
    assert observer.mode() == "observer"
    again = client(observer.host)
    again.create("/obs/again", b"")
    assert set(again.get_children("/obs")) == want | {"again"}
    c.stop()
