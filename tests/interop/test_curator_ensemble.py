"""Curator's LeaderLatch on a 3-member ensemble: two participants, each in its own JVM
(java/LatchMember.java, driven through stdin/stdout) and each connected with the connect
string of all members.

- The member that hosts the leading participant's session is SIGKILLed: the client moves to
  another member with the same session, so the latch's ephemeral node stays and the leader
  keeps its leadership throughout (no notLeader), while the other participant never leads.
- The leading participant's JVM is SIGKILLed: once its session expires (its timeout, plus a
  tick of slack) the other participant becomes leader.

Session timeouts are 4 s (ZooKeeper's minimum for tickTime=2000), so both run in seconds."""

import os
import re
import shutil
import subprocess
import time

import pytest

import test_curator as curator  # the jars and JVM flags of the standalone Curator checks
from lineproc import LineProcess
from zkwire import four_letter

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "java", "LatchMember.java")
SESSION_TIMEOUT_MS = 4000
JVM_START_S = 30.0
# A client moves to another member: a new leader first if the dead member led the ensemble,
# then the Java client's random 0-1 s pause before each new connection attempt.
RECONNECT_S = 30.0
# Expiry of the dead participant's session: its timeout, plus up to a tick (2 s) before the
# leader's session tracker runs, plus the notification reaching the other participant.
HANDOVER_S = SESSION_TIMEOUT_MS / 1000 + 10.0
STATUS = re.compile(r"^STATUS leader=(true|false) leaderId=(\S*) session=(0x[0-9a-f]+)$")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    missing = [n for n in curator.RUNTIME_JARS
               if not os.path.exists(os.path.join(curator.JARS, f"{n}.jar"))]
    if missing or not shutil.which("javac"):
        pytest.skip(f"javac or jars missing ({missing}); run tests/interop/install-deps.sh")
    out = tmp_path_factory.mktemp("latch-classes")
    r = subprocess.run(["javac", "-Xlint:all,-path", "-cp",
                        curator.classpath(curator.COMPILE_JARS), "-d", str(out), SOURCE],
                       capture_output=True, text=True, timeout=curator.COMPILE_TIMEOUT_S)
    assert r.returncode == 0, f"javac failed:\n{r.stdout}\n{r.stderr}"
    return str(out)


class Participant:
    """A LatchMember JVM. Its output is read only through expect()/status(), so the
    transcript holds every line up to the last one awaited."""

    def __init__(self, compiled, hosts, pid):
        self.pid = pid
        self.proc = LineProcess(
            ["java", *curator.JVM_FLAGS, "-cp",
             f"{compiled}:{curator.classpath(curator.RUNTIME_JARS)}",
             "LatchMember", hosts, pid, str(SESSION_TIMEOUT_MS)])
        try:
            m, _ = self.proc.expect(r"^SESSION (0x[0-9a-f]+)$", JVM_START_S)
            self.session = m.group(1)
            self.proc.expect(r"^STARTED$", JVM_START_S)
        except Exception:
            self.proc.close(timeout_s=5)  # no JVM outlives a failed start
            raise

    def expect(self, pattern, timeout_s):
        return self.proc.expect(pattern, timeout_s)[0]

    def status(self):
        """(has leadership, the leader's id as this participant sees it, session)."""
        self.proc.send("status")
        m = self.expect(STATUS.pattern, 10.0)
        return m.group(1) == "true", m.group(2), m.group(3)

    def printed(self, line):
        return line in self.proc.transcript

    def await_status(self, want, timeout_s):
        deadline = time.monotonic() + timeout_s
        got = None
        for _ in range(1000):
            got = self.status()[:2]
            if got == want or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert got == want, f"{self.pid}: status {got}, want {want}\n" + \
            "\n".join(self.proc.transcript[-40:])

    def sigkill(self):
        self.proc.proc.kill()
        self.proc.proc.wait(timeout=15)


@pytest.fixture
def participant(compiled, attach_on_failure):
    """`participant(hosts, id)` starts a LatchMember JVM; all are ended at teardown and their
    transcripts shown with a failure."""
    started = []

    def start(hosts, pid):
        p = Participant(compiled, hosts, pid)
        started.append(p)
        attach_on_failure(f"participant {pid} transcript",
                          lambda: "\n".join(p.proc.transcript[-80:]))
        return p

    yield start
    for p in started:
        p.proc.close(timeout_s=15)


def leader_and_follower(start_ensemble, participant):
    """An ensemble, participant 'a' leading (started first) and 'b' waiting behind it."""
    ens = start_ensemble()
    a = participant(ens.hosts, "a")
    a.expect(r"^LEADER$", JVM_START_S)
    b = participant(ens.hosts, "b")
    b.await_status((False, "a"), JVM_START_S)
    a.await_status((True, "a"), 10.0)
    return ens, a, b


def member_hosting(ens, session):
    on = [m for m in ens.live() if f"sid={session}," in four_letter(m.port, "cons")]
    assert len(on) == 1, f"session {session} is on members {[m.id for m in on]}"
    return on[0]


def test_leader_latch_keeps_leadership_when_its_member_dies(start_ensemble, participant):
    ens, a, b = leader_and_follower(start_ensemble, participant)
    host = member_hosting(ens, a.session)
    role = host.mode()
    host.kill()
    killed_at = time.monotonic()
    m = a.expect(r"^STATE RECONNECTED (0x[0-9a-f]+)$", RECONNECT_S)
    print(f"the leader participant's member {host.id} ({role}) killed; reconnected "
          f"{time.monotonic() - killed_at:.1f}s later")
    assert m.group(1) == a.session, "the leader participant got a new session"
    assert member_hosting(ens, a.session) is not host
    assert a.status() == (True, "a", a.session)
    # Every line 'a' printed so far is in its transcript: it never gave up leadership.
    assert not a.printed("NOTLEADER"), "the leader participant lost leadership"
    b.await_status((False, "a"), 10.0)
    assert not b.printed("LEADER"), "the other participant became leader"


def test_leader_latch_hands_over_when_the_leader_process_dies(start_ensemble, participant):
    ens, a, b = leader_and_follower(start_ensemble, participant)
    a.sigkill()
    killed_at = time.monotonic()
    b.expect(r"^LEADER$", HANDOVER_S)
    took_s = time.monotonic() - killed_at
    assert b.status()[:2] == (True, "b")
    # Only the session's expiry removes the dead leader's node; it was alive (pinging every
    # third of its timeout) until the kill, so this cannot happen much sooner.
    assert took_s >= SESSION_TIMEOUT_MS / 1000 / 2, \
        f"leadership moved {took_s:.1f}s after the kill, before the session could expire"
    print(f"leadership handed over {took_s:.1f}s after the leader's JVM was killed")
