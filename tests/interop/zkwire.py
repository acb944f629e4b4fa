"""The ZooKeeper client protocol at the byte level, for tests that must control every byte
(handshakes that then go silent, garbage, oversized frames) and for the readiness probe.
Only what the tests need; kazoo is the client everywhere else."""

import socket
import struct
import time

# OpCode values from ZooDefs.java.
OP_CREATE = 1
OP_DELETE = 2
OP_EXISTS = 3
OP_GET_DATA = 4
OP_PING = 11
OP_CLOSE_SESSION = -11
PING_XID = -2
WATCH_XID = -1

OPEN_ACL_UNSAFE = [(31, "world", "anyone")]
FLAG_EPHEMERAL = 1


def frame(payload):
    return struct.pack("!i", len(payload)) + payload


def ustring(s):
    if s is None:
        return struct.pack("!i", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!i", len(b)) + b


def connect_request(timeout_ms, session_id=0, passwd=b"\0" * 16, last_zxid=0,
                    read_only=False):
    """ConnectRequest{protocolVersion, lastZxidSeen, timeOut, sessionId, passwd}
    plus the trailing readOnly byte every 3.4+ client sends."""
    body = struct.pack("!iqiq", 0, last_zxid, timeout_ms, session_id) + ustring(passwd)
    return frame(body + (b"\1" if read_only else b"\0"))


def request(xid, opcode, body=b""):
    return frame(struct.pack("!ii", xid, opcode) + body)


def create_body(path, data=b"", flags=0, acl=OPEN_ACL_UNSAFE):
    b = ustring(path) + ustring(data) + struct.pack("!i", len(acl))
    for perms, scheme, ident in acl:
        b += struct.pack("!i", perms) + ustring(scheme) + ustring(ident)
    return b + struct.pack("!i", flags)


def path_watch_body(path, watch=False):
    return ustring(path) + (b"\1" if watch else b"\0")


def recv_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed by server")
        buf += chunk
    return buf


def read_frame(sock, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    (n,) = struct.unpack("!i", recv_exact(sock, 4, deadline))
    return recv_exact(sock, n, deadline)


def parse_connect_response(body):
    """ConnectResponse{protocolVersion, timeOut, sessionId, passwd} (+ readOnly byte)."""
    proto, timeout_ms, session_id = struct.unpack_from("!iiq", body, 0)
    (plen,) = struct.unpack_from("!i", body, 16)
    passwd = body[20:20 + plen]
    return {"protocol_version": proto, "timeout_ms": timeout_ms,
            "session_id": session_id, "passwd": passwd,
            "trailing": body[20 + plen:]}


def connection_ended(sock, timeout_s):
    """True when the server closes (EOF or reset) within `timeout_s`; any bytes the server
    sends first are skipped. False when the connection is still open at the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


class RawSession:
    """One session over one socket, driven by hand."""

    def __init__(self, host, port, timeout_ms=30000, io_timeout_s=10.0):
        self.sock = socket.create_connection((host, port), timeout=io_timeout_s)
        self.io_timeout_s = io_timeout_s
        self.sock.sendall(connect_request(timeout_ms))
        self.handshake = parse_connect_response(read_frame(self.sock, io_timeout_s))
        self.session_id = self.handshake["session_id"]
        self.xid = 0

    def call(self, opcode, body=b""):
        """Sends one request and returns (zxid, err, body) of its reply, skipping pings and
        collecting watch events into `self.events`."""
        self.xid += 1
        self.sock.sendall(request(self.xid, opcode, body))
        deadline = time.monotonic() + self.io_timeout_s
        while True:
            reply = read_frame(self.sock, max(0.01, deadline - time.monotonic()))
            xid, zxid, err = struct.unpack_from("!iqi", reply, 0)
            if xid == self.xid:
                return zxid, err, reply[16:]
            if xid not in (PING_XID, WATCH_XID):
                raise AssertionError(f"reply for xid {xid} while waiting for {self.xid}")

    def close_session(self):
        try:
            self.call(OP_CLOSE_SESSION)
        finally:
            self.sock.close()

    def abandon(self):
        """Stops talking without closing: the session lives on until it expires."""
        self.sock.close()


def probe_session(host, port, timeout_s=2.0):
    """True when the server completes a handshake with a real session (ZooKeeper accepts
    connections before it serves them, so an open port is not enough)."""
    try:
        s = RawSession(host, port, timeout_ms=30000, io_timeout_s=timeout_s)
    except (OSError, EOFError, struct.error):
        return False
    try:
        ok = s.session_id != 0
        s.close_session()
    except (OSError, EOFError, struct.error):
        pass
    return ok


OP_SET_DATA = 5


def set_data_body(path, data, version=-1):
    return ustring(path) + ustring(data) + struct.pack("!i", version)


def read_frames_until_xid(sock, xid, timeout_s=10.0, limit=100):
    """Reads replies until the one for `xid`; returns the xids seen in order (pings skipped)."""
    seen = []
    deadline = time.monotonic() + timeout_s
    for _ in range(limit):
        reply = read_frame(sock, max(0.01, deadline - time.monotonic()))
        (rxid,) = struct.unpack_from("!i", reply, 0)
        if rxid == PING_XID:
            continue
        seen.append(rxid)
        if rxid == xid:
            return seen
    raise AssertionError(f"no reply for xid {xid} within {limit} frames: {seen}")


def four_letter(port, cmd, timeout_s=10.0, limit_bytes=1 << 20, host="127.0.0.1"):
    """Sends a four-letter word and returns everything the server writes until it closes."""
    out = b""
    deadline = time.monotonic() + timeout_s
    with socket.create_connection((host, port), timeout=timeout_s) as s:
        s.sendall(cmd if isinstance(cmd, bytes) else cmd.encode())
        while len(out) < limit_bytes:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    return out.decode("utf-8", "replace")
