"""One fault run: a corral ensemble, the workloads against it, the nemesis among its members,
then healing and the checks. Every run is named by its seed; the workloads' and the
nemesis' choices follow from it (the ensemble's timing does not, so a seed reproduces the
schedule of faults and operations, not every interleaving).

    python3 tests/faults/run.py --seed 7 --seconds 300 --faults kill,pause,corrupt,wipe

prints the counts and any anomaly with the ops that show it, and exits 1 on an anomaly."""

import argparse
import itertools
import logging
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import NoNodeError  # noqa: E402

import checks  # noqa: E402
import ensemble  # noqa: E402
import netns  # noqa: E402
import recipes  # noqa: E402
import workloads  # noqa: E402
from history import OK, History  # noqa: E402
from linearizable import check, versioned_register  # noqa: E402
from nemesis import FAULTS, PARTITIONS, Nemesis  # noqa: E402,F401 - the suite's fault lists
from watcher import Watcher  # noqa: E402

WORKERS = {workloads.Register: 4, workloads.Burst: 1, workloads.Queue: 2, workloads.Churn: 1,
           recipes.Counter: 2, recipes.FencedLeader: 3, Watcher: 1}
HEAL_TIMEOUT_S = 120.0
JOIN_TIMEOUT_S = 60.0
EXPIRY_WAIT_S = 40.0
# Small enough that members snapshot during a run, so wipes and corruption meet snapshots.
EXTRA_CFG = {"snapCount": "300"}


@dataclass
class Report:
    seed: int
    faults: str
    counts: dict
    checked: dict
    anomalies: list = field(default_factory=list)
    logs: str = ""
    skipped: str = ""

    def __str__(self):
        lines = [f"seed {self.seed}: ops {self.counts}; checked {self.checked}"]
        if self.skipped:
            lines.append(self.skipped)
        if self.anomalies or os.environ.get("CORRAL_FAULTS_VERBOSE"):
            lines.append(f"{len(self.anomalies)} anomalies:")
            lines += [f"- {a}" for a in self.anomalies]
            lines.append(f"faults:\n{self.faults}")
        if self.logs:
            lines.append(f"member logs: {self.logs}")
        return "\n".join(lines)


def run(seed, seconds, faults=FAULTS, voters=3):
    """One run. Partition faults need members in network namespaces (root); where this
    machine does not allow them they are left out, and the report says why."""
    # kazoo warns of every dropped connection; under a nemesis that is the point.
    logging.getLogger("kazoo").setLevel(logging.ERROR)
    faults = list(faults)
    net, skipped = None, ""
    if any(f in PARTITIONS for f in faults):
        ok, why = netns.usable()
        if ok:
            net = netns.BridgeNet(range(1, voters + 1))
            net.setup()
        else:
            skipped = f"partition faults left out: {why}"
            faults = [f for f in faults if f not in PARTITIONS]
    try:
        ens = ensemble.Ensemble("corral", voters, extra_cfg=EXTRA_CFG,
                                net=net or ensemble.LOOPBACK).start()
        try:
            report = _run(ens, seed, seconds, faults, net)
            report.skipped = skipped
            if report.anomalies:
                report.logs = _keep_logs(ens, seed)
            return report
        finally:
            ens.stop()
    finally:
        if net is not None:
            net.teardown()


def _keep_logs(ens, seed):
    """Copies the members' logs out of the ensemble's directory (removed at stop)."""
    keep = tempfile.mkdtemp(prefix=f"corral-faults-seed-{seed}-")
    for m in ens.members:
        if os.path.exists(m.log_path):
            shutil.copy(m.log_path, os.path.join(keep, f"member-{m.id}.log"))
    return keep


def _run(ens, seed, seconds, faults, net):
    history = History()
    with _client(ens.hosts) as zk:
        for cls in (workloads.Register, recipes.Counter, recipes.FencedLeader):
            cls.setup(zk)
        for parent in ("/queue", "/eph", "/burst"):
            zk.ensure_path(parent)
    stop = threading.Event()
    processes = itertools.count()
    workers = [cls(f"{cls.__name__}-{i}", history, ens.hosts, random.Random(seed * 1000 + n),
                   stop, processes)
               for n, (cls, i) in enumerate((cls, i) for cls, k in WORKERS.items()
                                            for i in range(k))]
    nemesis = Nemesis(ens, random.Random(seed), faults, stop, net)
    for t in (*workers, nemesis):
        t.start()
    stop.wait(seconds)
    stop.set()
    nemesis.join(JOIN_TIMEOUT_S)
    for w in workers:
        w.join(JOIN_TIMEOUT_S)
    anomalies = [f"{t.name} failed: {t.error!r}" for t in (*workers, nemesis) if t.error]
    anomalies += [f"{t.name} did not stop" for t in (*workers, nemesis) if t.is_alive()]
    nemesis.heal()
    try:
        ens.wait_whole(HEAL_TIMEOUT_S, converged=True)
    except AssertionError as e:
        anomalies.append(f"not whole {HEAL_TIMEOUT_S:.0f}s after healing: "
                         f"{str(e).splitlines()[0]}")
    else:
        anomalies += _final_checks(ens, history, workers)
    checked = {f: sum(1 for op in history.ops if op.f == f and op.status == OK)
               for f in sorted({op.f for op in history.ops})}
    checked["faults"] = len([t for t, text in nemesis.log if text.startswith(
        ("kill", "pause", "corrupt", "wipe", "partition ("))])
    return Report(seed, nemesis.describe(), history.counts(), checked, anomalies)


class _client:
    def __init__(self, hosts):
        self.zk = KazooClient(hosts=hosts, timeout=workloads.SESSION_TIMEOUT_S)

    def __enter__(self):
        self.zk.start(timeout=60)
        return self.zk

    def __exit__(self, *exc):
        self.zk.stop()
        self.zk.close()


def _final_checks(ens, history, workers):
    anomalies = []
    final = 10_000  # the process number of the final reads
    with _client(ens.hosts) as zk:
        keys = [f"{workloads.Register.PREFIX}{i}" for i in range(workloads.REGISTER_KEYS)]
        finals = {}
        for key in keys:
            op = history.invoke(final, "read", key, session=zk.client_id[0])
            zk.sync(key)
            finals[key] = _read(zk, key)
            history.complete(op, OK, finals[key])
        remaining = {f"/queue/{c}" for c in zk.get_children("/queue")}
        zk.sync(recipes.Counter.PATH)
        counter = int(zk.get(recipes.Counter.PATH)[0])
        churn = [w for w in workers if isinstance(w, workloads.Churn)]
        anchors = [w.anchor for w in churn if w.anchor_alive()]
        for a in anchors:
            a.extra["alive_at_end"] = True
        vanished = {sid for w in churn for sid in w.vanished}
        owners = _await_expiry(zk, vanished)
        for sid in vanished:
            history.complete(history.invoke(final, "session-ended", "/eph", session=sid), OK)
    for w in workers:
        if isinstance(w, Watcher):
            anomalies += w.settle(finals)
    anomalies += _members_agree(ens, finals)
    anomalies += recipes.counter_anomalies(history.ops, counter)
    anomalies += recipes.fencing_anomalies(history.ops)
    for key, ops in history.by_key().items():
        ops = [op for op in ops if op.f in ("write", "cas", "read")]
        if not ops:
            continue
        verdict = check(ops, versioned_register, (b"", 0))
        if not verdict.ok:
            window = "\n    ".join(map(str, verdict.window))
            anomalies.append(f"{key} not linearizable at {verdict.stuck_at}; the ops that show "
                             f"it:\n    {window}")
    anomalies += checks.session_order(history.ops)
    anomalies += checks.pipelined_order(history.ops)
    anomalies += checks.sequential_names(history.ops)
    anomalies += checks.queue_items(history.ops, remaining)
    anomalies += checks.ephemerals(history.ops, owners)
    return anomalies


def _read(zk, key):
    """(data, version) of `key`, or (None, -1) if it is gone (which no workload does)."""
    try:
        data, stat = zk.get(key)
        return data, stat.version
    except NoNodeError:
        return None, -1


def _await_expiry(zk, vanished):
    """Waits (bounded) until no ephemeral of a vanished session is left; returns
    {path: ephemeralOwner} of what is under /eph then."""
    deadline = time.monotonic() + EXPIRY_WAIT_S
    while True:
        owners = {}
        for child in zk.get_children("/eph"):
            stat = zk.exists(f"/eph/{child}")
            if stat is not None:
                owners[f"/eph/{child}"] = stat.ephemeralOwner
        if not vanished & set(owners.values()) or time.monotonic() > deadline:
            return owners
        time.sleep(0.5)


def _members_agree(ens, finals):
    """Each member's own copy (read locally, no sync) of every register, after convergence,
    is the final one: no member lost or kept an acknowledged write the others did not."""
    anomalies = []
    for m in ens.members:
        with _client(m.host) as zk:
            for key, want in finals.items():
                have = _read(zk, key)
                if have != want:
                    anomalies.append(f"member {m.id} has {key} = {have}, the others {want}")
    return anomalies


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--faults", default=",".join(FAULTS + PARTITIONS))
    p.add_argument("--voters", type=int, default=3)
    a = p.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 20)
    failed = False
    for s in range(seed, seed + a.runs):
        report = run(s, a.seconds, a.faults.split(","), a.voters)
        print(report, flush=True)
        failed |= bool(report.anomalies)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
