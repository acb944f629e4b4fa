"""TLS between ensemble members (`sslQuorum=true`, the `ssl.quorum.*` keys), mutual as in
ZooKeeper: a TLS ensemble forms, replicates and survives a leader's kill; a member whose
certificate comes from another CA, or that speaks plaintext, cannot join while the others
serve; the peer port presents each member's own certificate and refuses plaintext; with
`sslQuorumReloadCertFiles=true` renewed key stores are used by new peer connections, on both
sides, without a restart.

Member certificates carry IP:127.0.0.1 as a subject alternative name: host names are verified
(`ssl.quorum.hostnameVerification` defaults to true)."""

import os
import shutil
import socket
import ssl
import struct
import time

import pytest
from kazoo.client import KazooClient

import zkwire
from ensemble import Ensemble
from tls_certs import Certs, needs_openssl

FORM_TIMEOUT_S = 60.0
FAILOVER_S = 30.0
# How long a member that must not join is watched: several election timeouts and retries.
KEPT_OUT_S = 8.0
REFUSED_TIMEOUT_S = 10.0

pytestmark = needs_openssl


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    c = Certs(str(tmp_path_factory.mktemp("quorum-certs")))
    for sid in (1, 2, 3):
        c.issue(f"member{sid}", f"/O=corral/CN=member{sid}")
    c.ca("rogue")
    c.issue("rogue-member3", "/O=corral/CN=member3", ca="rogue")
    return c


def quorum_cfg(certs, key_store=lambda m: f"member{m.id}.pem", **extra):
    return {
        "sslQuorum": "true",
        "ssl.quorum.keyStore.location": lambda m: certs.path(key_store(m)),
        "ssl.quorum.trustStore.location": certs.path("ca.crt"),
        **extra,
    }


@pytest.fixture
def ensembles(attach_on_failure):
    """`ensembles(extra_cfg)`: an Ensemble of 3 corral members (not started), stopped at
    teardown; a failed test shows every member's log tail."""
    made = []

    def make(extra_cfg):
        e = Ensemble("corral", 3, 0, extra_cfg)
        made.append(e)
        for m in e.members:
            attach_on_failure(f"member {m.id} log (tail)", lambda m=m: m.log_tail(6000))
        return e

    yield make
    for e in made:
        e.stop()


def kazoo(member):
    c = KazooClient(hosts=member.host, timeout=10.0,
                    connection_retry={"max_tries": 20, "delay": 0.1, "max_delay": 1},
                    command_retry={"max_tries": 3, "delay": 0.1, "max_delay": 1})
    c.start(timeout=FAILOVER_S)
    return c


def synced_get(member, path):
    c = kazoo(member)
    try:
        c.sync(path)
        return c.get(path)[0]
    finally:
        c.stop()
        c.close()


def put(member, path, data):
    c = kazoo(member)
    try:
        c.create(path, data)
    finally:
        c.stop()
        c.close()


def peer_certificate(member, certs, cert):
    """The certificate `member`'s peer port presents to a client showing `cert` (`subject`
    and `serialNumber` as Python's ssl gives them)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(certs.path("ca.crt"))
    ctx.load_cert_chain(certs.path(f"{cert}.crt"), certs.path(f"{cert}.key"))
    with socket.create_connection(("127.0.0.1", member.peer_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.getpeercert()


def common_name(cert):
    return dict(rdn[0] for rdn in cert["subject"])["commonName"]


def plaintext_hello():
    """corral's peer hello in plaintext (postcard: variant 0, cluster "corral", from 9,
    protocol 1), framed by its 4-byte length."""
    body = bytes([0, 6]) + b"corral" + bytes([9, 1])
    return struct.pack(">I", len(body)) + body


def wait_for(cond, timeout_s, what, poll_s=0.1):
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"timed out after {timeout_s}s: {what}"
        time.sleep(poll_s)


def holds_for(cond, duration_s, what, poll_s=0.2):
    """Asserts that `cond()` stays true for `duration_s` (what must not happen is given that
    long to happen)."""
    deadline = time.monotonic() + duration_s
    while time.monotonic() < deadline:
        assert cond(), f"not so within {duration_s}s: {what}"
        time.sleep(poll_s)


def test_a_tls_ensemble_forms_replicates_and_survives_a_leader_kill(ensembles, certs):
    ens = ensembles(quorum_cfg(certs)).start(FORM_TIMEOUT_S)
    leader = ens.leader(FAILOVER_S)
    a, b, c = ens.members
    put(a, "/over-tls", b"from member 1")
    assert synced_get(b, "/over-tls") == b"from member 1"
    assert synced_get(c, "/over-tls") == b"from member 1"

    # The peer port speaks TLS with the member's own certificate.
    assert common_name(peer_certificate(b, certs, "member1")) == "member2"
    # And refuses plaintext: a hello gets no answer, the connection is closed.
    with socket.create_connection(("127.0.0.1", a.peer_port), timeout=REFUSED_TIMEOUT_S) as s:
        s.sendall(plaintext_hello() + plaintext_hello())
        assert zkwire.connection_ended(s, REFUSED_TIMEOUT_S)
    wait_for(lambda: "peer connection from 127.0.0.1" in a.log()
             and "refused: TLS handshake failed" in a.log(),
             REFUSED_TIMEOUT_S, "member 1 logs the refused plaintext connection")

    leader.kill()
    new_leader = ens.leader(FAILOVER_S)
    assert new_leader is not leader
    survivors = [m for m in ens.members if m is not leader]
    put(survivors[0], "/after-kill", b"still over tls")
    assert synced_get(survivors[1], "/after-kill") == b"still over tls"
    leader.restart()
    ens.wait_converged(FAILOVER_S)
    assert synced_get(leader, "/after-kill") == b"still over tls"


def refusals(member):
    return member.log().count("refused: TLS handshake failed")


def test_members_with_a_foreign_or_no_certificate_cannot_join(ensembles, certs):
    ens = ensembles(quorum_cfg(certs))
    a, b, c = ens.members
    lines = [m.server_line() for m in ens.members]
    c.write_config(lines, quorum_cfg(
        certs, key_store=lambda m: "rogue-member3.pem" if m.id == 3 else f"member{m.id}.pem"))
    a.spawn()
    b.spawn()
    a.wait_serving(FORM_TIMEOUT_S)
    b.wait_serving(FORM_TIMEOUT_S)
    ens.leader(FAILOVER_S)

    # Member 3's certificate comes from a CA the others do not trust (and it trusts only
    # theirs, so it refuses them too).
    c.spawn()
    wait_for(lambda: "refused: TLS handshake failed: invalid peer certificate: UnknownIssuer"
             in a.log() + b.log(), FORM_TIMEOUT_S,
             "members 1 and 2 refuse member 3's peer connections")
    wait_for(lambda: "received fatal alert: UnknownCA" in c.log(), FORM_TIMEOUT_S,
             "member 3 logs that the others do not trust its certificate")
    put(a, "/without-3", b"two of three")
    assert synced_get(b, "/without-3") == b"two of three"
    holds_for(lambda: c.mode() is None, KEPT_OUT_S, "member 3 does not serve")

    # In plaintext, member 3 is refused as well.
    c.kill()
    before = refusals(a) + refusals(b)
    c.write_config(lines, {})
    c.restart(wait=False)
    wait_for(lambda: refusals(a) + refusals(b) > before, FORM_TIMEOUT_S,
             "members 1 and 2 refuse member 3's plaintext connections")
    holds_for(lambda: c.mode() is None, KEPT_OUT_S, "a plaintext member 3 does not serve")
    put(b, "/still-two", b"")
    assert synced_get(a, "/still-two") == b""


def replace_file(path, source):
    """Puts `source`'s contents at `path` as a renewal would: a new file renamed over it."""
    with open(source, "rb") as f:
        data = f.read()
    with open(path + ".new", "wb") as f:
        f.write(data)
    os.replace(path + ".new", path)


def test_renewed_key_stores_are_used_without_a_restart(ensembles, certs, tmp_path):
    for sid in (1, 2, 3):
        certs.issue(f"member{sid}-renewed", f"/O=corral/CN=member{sid}-renewed")
        shutil.copy(certs.path(f"member{sid}.pem"), tmp_path / f"live-member{sid}.pem")
    cfg = quorum_cfg(certs, sslQuorumReloadCertFiles="true")
    cfg["ssl.quorum.keyStore.location"] = lambda m: str(tmp_path / f"live-member{m.id}.pem")
    ens = ensembles(cfg).start(FORM_TIMEOUT_S)
    leader = ens.leader(FAILOVER_S)
    for m in ens.members:
        assert common_name(peer_certificate(m, certs, "member1")) == f"member{m.id}"

    for m in ens.members:
        replace_file(str(tmp_path / f"live-member{m.id}.pem"),
                     certs.path(f"member{m.id}-renewed.pem"))
    # The listening side: a new connection gets the renewed certificate.
    for m in ens.members:
        assert common_name(peer_certificate(m, certs, "member1")) == f"member{m.id}-renewed"
        wait_for(lambda m=m: "reloaded the certificate in" in m.log(), REFUSED_TIMEOUT_S,
                 f"member {m.id} logs the reload")

    # The dialling side: a restarted follower is dialled again by the leader, which has not
    # restarted, and sees the leader's renewed certificate.
    follower = next(m for m in ens.members if m is not leader)
    follower.kill()
    follower.restart()
    ens.leader(FAILOVER_S)
    presented = f"certificate CN=member{leader.id}-renewed,O=corral (serial"
    wait_for(lambda: presented in follower.log(), FAILOVER_S,
             "the leader dials with its renewed certificate")
    put(leader, "/after-renewal", b"renewed")
    others = [m for m in ens.members if m is not leader]
    for m in others:
        assert synced_get(m, "/after-renewal") == b"renewed"
