"""Bad bytes on one connection end that connection and nothing else: a kazoo client on the
same server keeps its session and keeps working.

Apache ZooKeeper 3.8, observed: before the handshake any malformed or oversized frame closes
the connection at once without a reply (the limit is jute.maxbuffer, 1048575 bytes). After the
handshake an unknown opcode gets a reply {xid, zxid -1, err -6 Unimplemented} and then the
connection is closed; a request whose body is too short gets err -5 (MarshallingError) and the
connection stays open; a length prefix over the limit, or a frame too short for a request
header, closes it. The tests assert only what corral must share: the connection ends or the
request gets an error reply."""

import socket
import struct

import pytest

import zkwire

CLOSE_TIMEOUT_S = 10.0

BEFORE_HANDSHAKE = {
    "garbage-frame": b"\x00\x00\x00\x05hello",
    "http-request": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "length-2^31-1": b"\x7f\xff\xff\xff" + b"x" * 100,
    "length-just-over-1MiB": struct.pack("!i", 1048576 + 1),
    "negative-length": b"\xff\xff\xff\xf0",
    "request-before-handshake": zkwire.request(1, zkwire.OP_GET_DATA, zkwire.path_watch_body("/")),
}


def assert_bystander_ok(client, session_id):
    assert client.connected and client.client_id[0] == session_id
    path = client.create("/bystander-", b"ok", sequence=True)
    assert client.get(path)[0] == b"ok"


@pytest.mark.parametrize("payload", BEFORE_HANDSHAKE.values(), ids=BEFORE_HANDSHAKE.keys())
def test_bad_bytes_before_handshake_close_only_that_connection(server, zk, payload):
    sid = zk.client_id[0]
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(payload)
        assert zkwire.connection_ended(s, CLOSE_TIMEOUT_S)
    assert_bystander_ok(zk, sid)


def ended_or_error_reply(sock, xid):
    """The connection ends, or the reply to `xid` carries a non-zero error (what follows an
    error reply is the server's choice)."""
    try:
        while True:
            reply = zkwire.read_frame(sock, CLOSE_TIMEOUT_S)
            rxid, _, err = struct.unpack_from("!iqi", reply, 0)
            if rxid == xid:
                return err != 0
    except (EOFError, ConnectionError):
        return True
    except socket.timeout:
        return False


@pytest.mark.parametrize("body,opcode", [
    (b"", 9999),
    (b"\x00\x00", zkwire.OP_GET_DATA),
    (zkwire.ustring("/x") + b"\x00\x00\x00\x7f", zkwire.OP_CREATE),
], ids=["unknown-opcode", "truncated-getData", "truncated-create"])
def test_bad_request_after_handshake(server, zk, body, opcode):
    sid = zk.client_id[0]
    raw = zkwire.RawSession("127.0.0.1", server.port)
    try:
        raw.sock.sendall(zkwire.request(1, opcode, body))
        assert ended_or_error_reply(raw.sock, 1)
    finally:
        raw.abandon()
    assert_bystander_ok(zk, sid)
    assert zk.exists("/x") is None


@pytest.mark.parametrize("payload", [b"\x7f\xff\xff\xff", b"\x00\x00\x00\x03abc",
                                     struct.pack("!i", 1048576 + 1)],
                         ids=["length-2^31-1", "frame-shorter-than-header", "length-over-1MiB"])
def test_bad_frame_after_handshake_closes(server, zk, payload):
    sid = zk.client_id[0]
    raw = zkwire.RawSession("127.0.0.1", server.port)
    try:
        raw.sock.sendall(payload)
        assert zkwire.connection_ended(raw.sock, CLOSE_TIMEOUT_S)
    finally:
        raw.abandon()
    assert_bystander_ok(zk, sid)


def test_unknown_opcode_reply_is_unimplemented(server):
    """What ZooKeeper answers to an unknown opcode when it answers: err -6 (Unimplemented)."""
    raw = zkwire.RawSession("127.0.0.1", server.port)
    try:
        raw.sock.sendall(zkwire.request(7, 9999))
        try:
            reply = zkwire.read_frame(raw.sock, CLOSE_TIMEOUT_S)
        except (EOFError, ConnectionError):
            pytest.skip("the server closed without answering (allowed)")
        xid, _, err = struct.unpack_from("!iqi", reply, 0)
        assert (xid, err) == (7, -6)
    finally:
        raw.abandon()
