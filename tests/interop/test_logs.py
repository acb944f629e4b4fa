"""corral's log: one line per connection event, session expiry, election and snapshot, at the
level RUST_LOG sets, and never a secret (an auth password, a digest) even at debug."""

import base64
import hashlib
import re
import time

import pytest
from kazoo.security import make_digest_acl

import servers
from zkwire import RawSession, four_letter

pytestmark = pytest.mark.skipif(servers.target_kind() != "corral",
                                reason="corral's own log lines")

LOG_WAIT_S = 15.0
USER, PASSWORD = "alice", "S3cret-pw-for-logs"


def wait_for_line(read_log, pattern, timeout_s=LOG_WAIT_S):
    """Returns the first log line matching `pattern`, waiting up to `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        for line in read_log().splitlines():
            if re.search(pattern, line):
                return line
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line matches {pattern!r} within {timeout_s}s")
        time.sleep(0.05)


@pytest.fixture
def debug_server():
    s = servers.start_corral({"tickTime": "200", "snapCount": "20"}, log_level="debug")
    yield s
    s.stop()


def test_connection_session_and_snapshot_lines(debug_server, make_client):
    s = debug_server
    zk = make_client(hosts=s.hosts)
    zk.add_auth("digest", f"{USER}:{PASSWORD}")
    zk.create("/secret", b"x", acl=[make_digest_acl(USER, PASSWORD, all=True)])
    zk.create("/e", ephemeral=True)
    sid = f"{zk.client_id[0]:#x}"
    wait_for_line(s.log, rf"client 127\.0\.0\.1:\d+ established session {sid}, "
                         rf"negotiated timeout \d+ ms")
    zk.stop()
    wait_for_line(s.log, rf"session {sid} closed; closing its connection from 127\.0\.0\.1:\d+")

    vanished = RawSession("127.0.0.1", s.port, timeout_ms=1000)
    vid = f"{vanished.session_id:#x}"
    vanished.abandon()
    wait_for_line(s.log, rf"closed connection from 127\.0\.0\.1:\d+ \(session {vid}\): "
                         r"the client closed it")
    wait_for_line(s.log, rf"expiring session {vid}")

    four_letter(s.port, "srvr")
    wait_for_line(s.log, r"four-letter word srvr from 127\.0\.0\.1:\d+")

    zk = make_client(hosts=s.hosts)
    for i in range(25):
        zk.create(f"/n{i}")
    wait_for_line(s.log, r"snapshot written in .* file=\S+snapshot\.")

    log = s.log()
    digest = base64.b64encode(hashlib.sha1(f"{USER}:{PASSWORD}".encode()).digest()).decode()
    for secret in (PASSWORD, digest, base64.b64encode(PASSWORD.encode()).decode()):
        assert secret not in log, f"the log shows a secret: {secret}"
    assert "\x1b[" not in log, "colour codes in a log file"


def test_levels_follow_rust_log(make_client):
    s = servers.start_corral(log_level="warn")
    try:
        zk = make_client(hosts=s.hosts)
        zk.create("/x")
        four_letter(s.port, "srvr")
        zk.stop()
        # The client's close is the last event: once the server answered it, nothing more is
        # coming at info that this level would hide.
        assert four_letter(s.port, "ruok") == "imok"
        log = s.log()
        assert "established session" not in log and "four-letter word" not in log, log
    finally:
        s.stop()


def test_election_lines(start_ensemble):
    ens = start_ensemble()
    leader = ens.leader()
    line = wait_for_line(leader.log, r"ensemble role.*mode=\"?leader")
    assert "term=" in line, line
    for m in ens.members:
        if m is not leader:
            wait_for_line(m.log, rf"ensemble role.*mode=\"?follower.*leader=Some\({leader.id}\)")
