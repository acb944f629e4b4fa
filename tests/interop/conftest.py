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
    # The call's report is made before the fixtures are torn down: read the logs now, while
    # the servers' directories exist, and add them to the report that shows the failure.
    if rep.when == "call" and rep.failed:
        for title, read in getattr(item, "_logs_on_failure", []):
            try:
                rep.sections.append((title, read()))
            except OSError:
                pass


def _attach_log_on_failure(request, title, read):
    """Registers `read()` (a log tail) to be shown with the test's failure, if it fails."""
    if not hasattr(request.node, "_logs_on_failure"):
        request.node._logs_on_failure = []
    request.node._logs_on_failure.append((title, read))


@pytest.fixture
def attach_on_failure(request):
    """`attach_on_failure(title, read)`: the test's failure report shows `read()`."""
    return lambda title, read: _attach_log_on_failure(request, title, read)


@pytest.fixture
def start_server(request):
    """Starts extra servers (`start_server(kind, extra_cfg)`), all stopped at teardown."""
    started = []

    def start(kind=None, extra_cfg=None):
        s = servers.start(kind or servers.target_kind(), extra_cfg)
        started.append(s)
        _attach_log_on_failure(request, f"{s.kind} log (tail)", lambda: s.log()[-6000:])
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def start_ensemble(request):
    """Starts ensembles (`start_ensemble(kind=None, voters=3, observers=0, extra_cfg=None)`),
    all stopped at teardown; a failed test gets every member's log tail."""
    started = []

    def start(kind=None, voters=3, observers=0, extra_cfg=None):
        e = ensemble.start_ensemble(kind, voters, observers, extra_cfg)
        started.append(e)
        for m in e.members:
            _attach_log_on_failure(request, f"{e.kind} member {m.id} log (tail)",
                                   lambda m=m: m.log_tail(6000))
        return e

    yield start
    for e in started:
        e.stop()


@pytest.fixture
def server(start_server):
    return start_server()


@pytest.fixture
def make_client(request):
    """`make_client(**kazoo_kwargs)` returns a connected KazooClient on the `server` fixture
    (or on `hosts=`), stopped and closed at teardown. A few reconnect attempts unless
    `connection_retry` says otherwise; `connect_timeout_s` bounds the first connection."""
    clients = []

    def make(hosts=None, timeout=10.0, connection_retry=None,
             connect_timeout_s=CONNECT_TIMEOUT_S, **kwargs):
        hosts = hosts or request.getfixturevalue("server").hosts
        c = KazooClient(hosts=hosts, timeout=timeout,
                        connection_retry=connection_retry or {"max_tries": 3, "delay": 0.1,
                                                              "max_delay": 1},
                        command_retry={"max_tries": 0}, **kwargs)
        clients.append(c)
        c.start(timeout=connect_timeout_s)
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
