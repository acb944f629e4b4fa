"""Faults for a real multi-process ensemble on this machine, one at a time, each healed before
the next:

- kill: SIGKILL a random member (or the leader), restart it a moment later;
- pause: SIGSTOP a random member (or the leader) for a few seconds, then SIGCONT;
- corrupt: kill a member, overwrite bytes of its newest Raft log or snapshot file, restart
  it; a member that refuses to start on the damage is an operator's case: its data
  directory is wiped (keeping myid) and it must rejoin from the others;
- wipe: kill a member, delete its data directory (keeping myid), restart: it must rejoin;
- partition-leader, partition-halves, partition-bridge (members in network namespaces
  only, netns.BridgeNet): the leader cut off from the others; the members split in two
  random sides; two sides that only one member (the bridge) still sees both of.

Every fault is logged with its time, so a failing history can be read against it."""

import glob
import os
import shutil
import signal
import threading
import time

FAULTS = ("kill", "kill-leader", "pause", "pause-leader", "corrupt", "wipe")
PARTITIONS = ("partition-leader", "partition-halves", "partition-bridge")
REFUSED_WAIT_S = 10.0


class Nemesis(threading.Thread):
    def __init__(self, ens, rng, faults, stop, net=None, interval_s=(2.0, 4.0)):
        super().__init__(name="nemesis", daemon=True)
        self.ens, self.rng, self.faults, self.stop_event = ens, rng, list(faults), stop
        self.net = net
        self.interval_s = interval_s
        self.log = []  # (monotonic time, text)
        self.paused = set()
        self.error = None

    def note(self, text):
        self.log.append((time.monotonic(), text))

    def run(self):
        try:
            while not self.stop_event.wait(self.rng.uniform(*self.interval_s)):
                fault = self.rng.choice(self.faults)
                getattr(self, "_" + fault.replace("-", "_"))()
        except Exception as e:  # noqa: BLE001 - reported by the runner
            self.error = e

    def _pick(self, leader):
        if leader:
            modes = self.ens.modes()
            leaders = [sid for sid, mode in modes.items() if mode == "leader"]
            if leaders:
                return self.ens.member(leaders[0])
        return self.rng.choice(self.ens.members)

    def _down_for(self):
        return self.rng.uniform(0.5, 3.0)

    def _kill(self, leader=False):
        m = self._pick(leader)
        self.note(f"kill member {m.id}{' (leader)' if leader else ''}")
        m.kill()
        self.stop_event.wait(self._down_for())
        self._start(m)

    def _kill_leader(self):
        self._kill(leader=True)

    def _pause(self, leader=False):
        m = self._pick(leader)
        if not m.alive():
            return
        self.note(f"pause member {m.id}{' (leader)' if leader else ''}")
        m.proc.send_signal(signal.SIGSTOP)
        self.paused.add(m)
        self.stop_event.wait(self._down_for())
        self._resume(m)

    def _pause_leader(self):
        self._pause(leader=True)

    def _resume(self, m):
        if m in self.paused and m.alive():
            m.proc.send_signal(signal.SIGCONT)
            self.note(f"resume member {m.id}")
        self.paused.discard(m)

    def _corrupt(self):
        m = self._pick(False)
        m.kill()
        kind = self.rng.choice([os.path.join("log", "*.wal"),
                                os.path.join("snapshots", "snapshot.*")])
        files = [f for f in glob.glob(os.path.join(m.data_dir, kind)) if os.path.getsize(f) > 64]
        if files:
            newest = max(files, key=os.path.getmtime)
            size = os.path.getsize(newest)
            offset = self.rng.randrange(size // 2, size - 16)
            with open(newest, "r+b") as f:
                f.seek(offset)
                f.write(bytes(self.rng.randrange(256) for _ in range(16)))
            self.note(f"corrupt member {m.id}: 16 bytes at {offset} of {newest}")
        self._start(m)
        # A member may refuse to start on a damaged file: that is allowed, and then the
        # operator's remedy (a fresh data directory) must bring it back.
        deadline = time.monotonic() + REFUSED_WAIT_S
        while time.monotonic() < deadline and m.alive() and not m.serves_sessions():
            time.sleep(0.2)
        if not m.alive():
            self.note(f"member {m.id} refused the damaged data (exit {m.proc.returncode}); "
                      "wiping it")
            self._wipe(m)

    def _wipe(self, m=None):
        m = m or self._pick(False)
        m.kill()
        self.note(f"wipe member {m.id}'s data directory")
        for entry in os.listdir(m.data_dir):
            if entry != "myid":
                path = os.path.join(m.data_dir, entry)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        self._start(m)

    def _start(self, m):
        if not m.alive():
            m.restart(wait=False)
            self.note(f"restart member {m.id}")

    def _partition(self, sides, what):
        """Blocks every pair across `sides` (lists of member ids) for a while."""
        self.note(f"partition ({what}): " + " | ".join(
            ",".join(map(str, side)) for side in sides))
        for i, side in enumerate(sides):
            for other in sides[i + 1:]:
                for a in side:
                    for b in other:
                        self.net.block(a, b)
        self.stop_event.wait(self.rng.uniform(1.0, 4.0))
        self.net.unblock_all()
        self.note("partition healed")

    def _partition_leader(self):
        leader = self._pick(leader=True).id
        self._partition([[leader], [m.id for m in self.ens.members if m.id != leader]],
                        "leader alone")

    def _partition_halves(self):
        ids = [m.id for m in self.ens.members]
        self.rng.shuffle(ids)
        cut = len(ids) // 2
        self._partition([ids[:cut], ids[cut:]], "halves")

    def _partition_bridge(self):
        ids = [m.id for m in self.ens.members]
        self.rng.shuffle(ids)
        bridge, rest = ids[0], ids[1:]
        cut = max(1, len(rest) // 2)
        # The bridge stays in neither side: it reaches both.
        self.note(f"bridge member {bridge}")
        self._partition([rest[:cut], rest[cut:]], "bridged")

    def heal(self):
        """Every member running, none paused, no partition."""
        if self.net is not None:
            self.net.unblock_all()
        for m in list(self.paused):
            self._resume(m)
        for m in self.ens.members:
            self._start(m)

    def describe(self):
        if not self.log:
            return "(no faults)"
        t0 = self.log[0][0]
        return "\n".join(f"  +{t - t0:7.3f}s {text}" for t, text in self.log)
