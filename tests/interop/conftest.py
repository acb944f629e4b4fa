"""Fixtures for the interop suite: a fresh server per test (corral, or Apache ZooKeeper when
CORRAL_TEST_TARGET=zookeeper) and kazoo clients that connect within a bounded time and are
closed at teardown."""

import os
import sys
import threading

import pytest
from kazoo.client import KazooClient

sys.path.insert(0, os.path.dirname(__file__))

import ensemble  # noqa: E402
import servers  # noqa: E402

CONNECT_TIMEOUT_S = 15.0
EVENT_TIMEOUT_S = 10.0


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _attach_log_if_failed(request, server):
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        try:
            tail = server.log()[-6000:]
        except OSError:
            return
        request.node.add_report_section("call", f"{server.kind} log (tail)", tail)


@pytest.fixture
def start_server(request):
    """Starts extra servers (`start_server(kind, extra_cfg)`), all stopped at teardown."""
    started = []

    def start(kind=None, extra_cfg=None):
        s = servers.start(kind or servers.target_kind(), extra_cfg)
        started.append(s)
        return s

    yield start
    for s in started:
        _attach_log_if_failed(request, s)
        s.stop()


@pytest.fixture
def start_ensemble(request):
    """Starts ensembles (`start_ensemble(kind=None, voters=3, observers=0, extra_cfg=None)`),
    all stopped at teardown; a failed test gets every member's log tail."""
    started = []

    def start(kind=None, voters=3, observers=0, extra_cfg=None):
        e = ensemble.start_ensemble(kind, voters, observers, extra_cfg)
        started.append(e)
        return e

    yield start
    rep = getattr(request.node, "rep_call", None)
    for e in started:
        if rep is not None and rep.failed:
            for m in e.members:
                request.node.add_report_section(
                    "call", f"{e.kind} member {m.id} log (tail)", m.log()[-4000:])
        e.stop()


@pytest.fixture
def server(start_server):
    return start_server()


@pytest.fixture
def make_client(request):
    """`make_client(**kazoo_kwargs)` returns a connected KazooClient on the `server` fixture
    (or on `hosts=`), stopped and closed at teardown."""
    clients = []

    def make(hosts=None, timeout=10.0, **kwargs):
        hosts = hosts or request.getfixturevalue("server").hosts
        c = KazooClient(hosts=hosts, timeout=timeout,
                        connection_retry={"max_tries": 3, "delay": 0.1, "max_delay": 1},
                        command_retry={"max_tries": 0}, **kwargs)
        clients.append(c)
        c.start(timeout=CONNECT_TIMEOUT_S)
        return c

    yield make
    for c in clients:
        try:
            c.stop()
        except Exception:  # a client the test broke on purpose
            pass
        c.close()


@pytest.fixture
def zk(make_client):
    return make_client()


class EventLog:
    """A kazoo watcher that records events and lets a test await them with a bound."""

    def __init__(self):
        self.events = []
        self._cond = threading.Condition()

    def __call__(self, event):
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait(self, n=1, timeout_s=EVENT_TIMEOUT_S):
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.events) >= n, timeout=timeout_s)
            assert ok, f"expected {n} watch events within {timeout_s}s, got {self.events}"
            return list(self.events)


@pytest.fixture
def event_log():
    return EventLog
