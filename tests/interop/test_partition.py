"""A network partition of a three-member ensemble (corral, or Apache ZooKeeper 3.8 when
CORRAL_TEST_TARGET=zookeeper): the leader is cut off from the other two, and

- the minority side (the old leader, still reachable by its clients) acknowledges no write:
  every write a kazoo client sends it ends in an error (connection loss, refusal) or gets no
  reply within a bound, and none of them exists anywhere after healing;
- the majority elects a new leader among themselves and acknowledges writes;
- after healing, the three converge to one history: one leader, two followers, the same Zxid
  from `srvr` on every member, the same children and data of the test's znodes on every
  member (read from each one locally, no sync).

The network, made by the test (needs root and iproute2's `ip`; skipped otherwise), with names
unique to the run:

    member N's namespace                       switch namespace         root namespace
    peer0 10.77.0.N/24  <-- veth -->  port sN ---- bridge br0
    client0 10.78.X.(4N+1)/30  <---------------- veth ---------------->  10.78.X.(4N+2)/30

Members talk to each other only over the bridge (`server.N=10.77.0.N:2888:3888;...`); pytest
and its kazoo clients stay in the root namespace and reach each member's clientPort over its
own point-to-point link (X is picked per run among /24s the root namespace does not use). The
partition sets the leader's switch port down (a cut cable: both ends lose carrier), so the
old leader keeps its clients but loses its peers; healing sets it up again. Teardown stops the
members and deletes the namespaces (and with them every link) even when the test fails.
"""

import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.retry import KazooRetry

import ensemble
import netns
import servers
from kazoo_ext import stop

SIDS = (1, 2, 3)
# tickTime=1000, syncLimit=5: a leader that lost its quorum, and followers that lost their
# leader, notice within about 5 s (ZooKeeper); these bounds leave room for 2 busy cores.
EXTRA_CFG = {"tickTime": "1000", "initLimit": "10", "syncLimit": "5"}
START_TIMEOUT_S = 90.0
STEP_DOWN_TIMEOUT_S = 60.0     # old leader stops serving
ELECTION_TIMEOUT_S = 60.0      # the majority has a leader and acknowledges a write
HEAL_TIMEOUT_S = 90.0          # whole and converged again after healing
WRITE_BOUND_S = 5.0            # each minority write: no reply within this counts as unacked
SESSION_TIMEOUT_S = 15.0
BEFORE, MAJORITY = 10, 20


@pytest.fixture
def cluster(request):
    """Three members of the target kind, each in its own namespace, whole and serving."""
    usable, why = netns.usable()
    if not usable:
        pytest.skip(f"the partition test needs network namespaces: {why}")
    net = netns.BridgeNet(SIDS)
    ens = None
    try:
        try:
            net.setup()
        except RuntimeError as e:  # e.g. a kernel without veth or bridge
            pytest.skip(f"cannot build the test network: {e}")
        ens = ensemble.Ensemble(servers.target_kind(), len(SIDS), extra_cfg=EXTRA_CFG, net=net)
        ens.start(START_TIMEOUT_S)
        yield net, ens
    finally:
        rep = getattr(request.node, "rep_call", None)
        if ens is not None and rep is not None and rep.failed:
            request.node.add_report_section("call", "member logs (tails)", ens.log_tails(6000))
        if ens is not None:
            ens.stop()
        net.teardown()


def client(hosts):
    c = KazooClient(hosts=hosts, timeout=SESSION_TIMEOUT_S,
                    connection_retry=KazooRetry(max_tries=-1, delay=0.1, backoff=2,
                                                max_jitter=0.1, max_delay=1.0),
                    command_retry={"max_tries": 0})
    c.start(timeout=15)
    return c


class MinorityWriter(threading.Thread):
    """Writes to the old leader one at a time until stopped; records every outcome."""

    def __init__(self, zk):
        super().__init__(daemon=True)
        self.zk = zk
        self.outcomes = []   # (path, "acked" | exception name, seconds)
        self.halt = threading.Event()

    def run(self):
        i = 0
        while not self.halt.is_set() and i < 10000:
            path = f"/pt/minority-{i}"
            i += 1
            t = time.monotonic()
            try:
                self.zk.create_async(path, b"minority").get(timeout=WRITE_BOUND_S)
                outcome = "acked"
            except KazooTimeoutError:
                outcome = "no reply"
            except Exception as e:  # noqa: BLE001 - every error is a refusal of the write
                outcome = type(e).__name__
            self.outcomes.append((path, outcome, time.monotonic() - t))
            if outcome != "acked":
                self.halt.wait(0.2)


def create_retrying(zk, path, data, timeout_s):
    """Creates `path` through an election: retries on any error until acknowledged (a retry
    that finds the node means an earlier try was applied). Returns the errors seen."""
    deadline = time.monotonic() + timeout_s
    errors = []
    while True:
        try:
            zk.create_async(path, data).get(timeout=WRITE_BOUND_S)
            return errors
        except NodeExistsError:
            if errors:
                return errors
            raise
        except Exception as e:  # noqa: BLE001 - connection loss, not serving, timeout
            errors.append(type(e).__name__)
        assert time.monotonic() < deadline, \
            f"no write to {path} acknowledged within {timeout_s}s: {errors[-10:]}"
        time.sleep(0.1)


def read_local(member):
    """/pt's data and version and every child's data, read from this member alone."""
    zk = client(member.host)
    try:
        data, stat = zk.get("/pt")
        kids = sorted(zk.get_children("/pt"))
        return {"/pt": (data, stat.version),
                **{f"/pt/{k}": zk.get(f"/pt/{k}")[0] for k in kids}}
    finally:
        stop(zk)


def test_partitioned_leader_acks_no_write_majority_elects_and_all_converge_after_healing(
        cluster):
    net, ens = cluster
    zk = client(ens.hosts)
    try:
        zk.create("/pt", b"before")
        for i in range(BEFORE):
            zk.create(f"/pt/before-{i}", f"b{i}".encode())
    finally:
        stop(zk)
    old_member = ens.wait_whole(START_TIMEOUT_S)
    old = old_member.id
    others = [m for m in ens.members if m.id != old]
    old_zxid = old_member.zxid()

    minority = client(old_member.host)
    majority = client(ens.hosts_of(m.id for m in others))
    writer = MinorityWriter(minority)
    try:
        net.cut(old)
        t_cut = time.monotonic()
        writer.start()

        # The majority elects a leader among themselves and acknowledges writes.
        errors = create_retrying(majority, "/pt/majority-0", b"m0", ELECTION_TIMEOUT_S)
        t_first_ack = time.monotonic()
        for i in range(1, MAJORITY):
            majority.create(f"/pt/majority-{i}", f"m{i}".encode())
        majority.set("/pt", b"majority")
        new_states = {m.id: m.state() for m in others}
        new_leaders = [s for s, (mode, _) in new_states.items() if mode == "leader"]
        assert len(new_leaders) == 1, \
            f"majority acknowledged writes but srvr shows {ensemble.summary(new_states)}"
        assert new_states[new_leaders[0]][1] > old_zxid

        # The old leader steps down: it says it is not serving (and so refuses sessions).
        deadline = time.monotonic() + STEP_DOWN_TIMEOUT_S
        while old_member.mode() is not None:
            assert time.monotonic() < deadline, \
                f"the partitioned old leader still serves {STEP_DOWN_TIMEOUT_S}s after the cut:" \
                f" {old_member.srvr()}"
            time.sleep(0.1)
        t_stepped_down = time.monotonic()
        assert not old_member.serves_sessions(), "the partitioned old leader hands out sessions"

        # One more minority write after the step-down, then stop the writer and its client
        # before healing, so that no write queued in kazoo can reach the ensemble afterwards.
        n = len(writer.outcomes)
        deadline = time.monotonic() + 3 * WRITE_BOUND_S
        while len(writer.outcomes) < n + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        writer.halt.set()
        writer.join(timeout=2 * WRITE_BOUND_S)
        assert not writer.is_alive(), "the minority writer did not stop"
    finally:
        writer.halt.set()
        stop(minority)
        stop(majority)
    outcomes = writer.outcomes
    acked = [o for o in outcomes if o[1] == "acked"]
    assert outcomes, "no write was tried on the minority side"
    assert not acked, f"the partitioned old leader acknowledged writes: {acked[:5]}"

    # Heal: the old leader rejoins, and all three converge to one history.
    net.heal(old)
    t_heal = time.monotonic()
    ens.wait_whole(HEAL_TIMEOUT_S, converged=True)
    t_whole = time.monotonic()
    states = {m.id: read_local(m) for m in ens.members}
    expected = {"/pt": (b"majority", 1),
                **{f"/pt/before-{i}": f"b{i}".encode() for i in range(BEFORE)},
                **{f"/pt/majority-{i}": f"m{i}".encode() for i in range(MAJORITY)}}
    for sid, state in states.items():
        minority_nodes = sorted(p for p in state if "minority" in p)
        assert not minority_nodes, \
            f"member {sid} has writes sent to the partitioned leader: {minority_nodes[:5]}"
        assert state == expected, f"member {sid} differs: " \
            f"missing {sorted(set(expected) - set(state))}, " \
            f"extra {sorted(set(state) - set(expected))}, " \
            f"changed {sorted(p for p in expected if p in state and state[p] != expected[p])}"
    # Zxids again, after the reads' sessions: one history on all three.
    ens.wait_whole(HEAL_TIMEOUT_S, converged=True)
    print(f"\n{ens.kind}: minority writes {len(outcomes)} "
          f"({sorted({o[1] for o in outcomes})}), majority's first ack "
          f"{t_first_ack - t_cut:.1f}s after the cut (errors before it: {errors}), old leader "
          f"{old} seen stepped down, new leader {new_leaders[0]}, after "
          f"{t_stepped_down - t_cut:.1f}s; whole and converged "
          f"{t_whole - t_heal:.1f}s after healing: {ensemble.summary(ens.states())}")
