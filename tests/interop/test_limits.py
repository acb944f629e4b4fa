"""Limits against abuse, end to end on a real corral: connections in total
(`zookeeper.maxCnxns`), requests in flight on the whole server (`globalOutstandingLimit`), a
client that never reads its replies (cut off, with a log line, while others are served),
secrets that never reach the log, and idle sessions that keep no buffer sized for a large
reply. (`maxClientCnxns` is in test_operator_parity, the request size limit `jute.maxbuffer`
in test_bad_input.)"""

import socket
import struct
import time

import pytest

import servers
import zkwire

WAIT_S = 20.0
LARGE_NODE_BYTES = 1_000_000  # under jute.maxbuffer (1048575)


def wait_until(check, what, timeout_s=WAIT_S, step_s=0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(step_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def test_max_cnxns_caps_connections_in_total(start_server):
    server = start_server("corral", {"zookeeper.maxCnxns": "2", "maxClientCnxns": "0"})
    held = [zkwire.RawSession("127.0.0.1", server.port) for _ in range(2)]
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as third:
            assert zkwire.connection_ended(third, 5.0), "a third connection was kept"
        wait_until(lambda: "too many connections: 2, max is 2" in server.log(), "the log line")
        # Those held are served all along; one gone, a new one gets in.
        assert held[0].call(zkwire.OP_EXISTS, zkwire.path_watch_body("/"))[1] == 0
        held.pop().close_session()

        def fresh_session_gets_in():
            try:
                held.append(zkwire.RawSession("127.0.0.1", server.port, io_timeout_s=2.0))
                return True
            except (EOFError, OSError):
                return False
        wait_until(fresh_session_gets_in, "a connection once one closed")
    finally:
        for s in held:
            s.sock.close()


def pipelined_get_data(sock, path, count, first_xid=1):
    body = zkwire.path_watch_body(path)
    sock.sendall(b"".join(zkwire.request(first_xid + i, zkwire.OP_GET_DATA, body)
                          for i in range(count)))


def test_global_outstanding_limit_throttles_without_losing_requests(start_server, zk):
    server = start_server("corral", {"zookeeper.globalOutstandingLimit": "2"})
    zk.hosts = server.hosts
    clients = [zkwire.RawSession("127.0.0.1", server.port) for _ in range(3)]
    try:
        clients[0].call(zkwire.OP_CREATE, zkwire.create_body("/g", b"v"))
        count = 300
        for c in clients:
            pipelined_get_data(c.sock, "/g", count, first_xid=c.xid + 1)
        for c in clients:
            xids = []
            deadline = time.monotonic() + WAIT_S
            while len(xids) < count:
                reply = zkwire.read_frame(c.sock, max(0.01, deadline - time.monotonic()))
                xid, _, err = struct.unpack_from("!iqi", reply, 0)
                if xid != zkwire.PING_XID:
                    assert err == 0
                    xids.append(xid)
            assert xids == list(range(c.xid + 1, c.xid + 1 + count)), "replies out of order"
    finally:
        for c in clients:
            c.sock.close()


def test_a_client_that_never_reads_is_cut_off(start_server, make_client):
    server = start_server("corral")
    other = make_client(hosts=server.hosts)
    other.create("/big", b"x" * LARGE_NODE_BYTES)
    slow = zkwire.RawSession("127.0.0.1", server.port)
    try:
        # 100 MB of replies asked for, none read: more than the server queues for one client.
        # The requests go out from a thread of their own: the server stops reading a client
        # with too much in flight, so this send may block until the cut-off.
        requests = b"".join(zkwire.request(i + 2, zkwire.OP_GET_DATA,
                                           zkwire.path_watch_body("/big"))
                            for i in range(100))
        sender = _send_in_background(slow.sock, requests)
        served = 0
        deadline = time.monotonic() + WAIT_S * 3
        while "client is not reading" not in server.log() and time.monotonic() < deadline:
            assert other.get("/big")[0][:1] == b"x"  # the others are served meanwhile
            served += 1
        log = server.log()
        assert log.count("client is not reading") == 1, log[-3000:]
        assert served > 0
        sender.join(WAIT_S)
        assert zkwire.connection_ended(slow.sock, WAIT_S), "the slow client is still connected"
        assert other.get("/big")[1].dataLength == LARGE_NODE_BYTES
    finally:
        slow.sock.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))


def test_idle_sessions_do_not_keep_buffers_sized_for_a_large_reply(start_server, make_client):
    # 150 sessions each read a 1 MB znode once and stay connected. The server keeps no buffer
    # of that size per idle session: before, each kept ~1.2 MB, and a flat election of 10,000
    # sessions (each reading 10,000 names once) held 4.8 GiB.
    server = start_server("corral")
    other = make_client(hosts=server.hosts)
    other.create("/big", b"x" * LARGE_NODE_BYTES)
    assert len(other.get("/big")[0]) == LARGE_NODE_BYTES  # the reply path is warm
    before_kib = rss_kib(server.proc.pid)
    sessions = []
    try:
        for _ in range(150):
            s = zkwire.RawSession("127.0.0.1", server.port)
            sessions.append(s)
            _zxid, err, body = s.call(zkwire.OP_GET_DATA, zkwire.path_watch_body("/big"))
            assert err == 0 and len(body) > LARGE_NODE_BYTES
        grown_mib = (rss_kib(server.proc.pid) - before_kib) / 1024
        assert grown_mib < 64, f"the server grew by {grown_mib:.0f} MiB for 150 idle sessions"
    finally:
        for s in sessions:
            s.sock.close()


def _send_in_background(sock, data):
    import threading

    def send():
        try:
            sock.sendall(data)
        except OSError:
            pass  # cut off mid-send: what the test waits for
    t = threading.Thread(target=send, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("level", ["info", "trace"])
def test_addauth_secrets_never_reach_the_log(make_client, level):
    server = servers.start_corral(log_level=level)
    try:
        secret, wrong = "s3cret-Passw0rd-7731", "wr0ng-Passw0rd-9184"
        zk = make_client(hosts=server.hosts)
        zk.add_auth("digest", f"alice:{secret}")
        zk.create("/mine", b"v", acl=[_digest_acl("alice", secret)])
        assert zk.get("/mine")[0] == b"v"
        intruder = make_client(hosts=server.hosts)
        intruder.add_auth("digest", f"alice:{wrong}")
        with pytest.raises(Exception):
            intruder.get("/mine")
        log = server.log()
        for s in (secret, wrong):
            assert s not in log
    finally:
        server.stop()


def _digest_acl(user, password):
    from kazoo.security import make_digest_acl
    return make_digest_acl(user, password, all=True)
