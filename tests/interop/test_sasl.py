"""SASL DIGEST-MD5 logins with a JAAS user list, as ZooKeeper 3.8 serves them, with kazoo
(pure-sasl) and the Java client (zkCli.sh with a JAAS `Client` section).

Both servers get the same configuration: zoo.cfg's `authProvider.1` (SASLAuthenticationProvider)
and `superUser`, and the JAAS file as `java.security.auth.login.config` (a JVM flag for
ZooKeeper, a zoo.cfg key for corral; `test_jvm_flags_name_the_jaas_file` covers corral's
reading of SERVER_JVMFLAGS). What the clients see on a refused login is checked against
Apache ZooKeeper 3.8 by running the same test on both."""

import os
import shutil
import struct
import subprocess
import threading

import pytest
from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import AuthFailedError, NoAuthError
from kazoo.protocol.states import KeeperState
from kazoo.security import make_acl, make_digest_acl

import servers
import zkwire

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
CONNECT_TIMEOUT_S = 15.0
STATE_TIMEOUT_S = 15.0
ZKCLI_TIMEOUT_S = 120  # a cold JVM on two busy cores
SASL_PROVIDER = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
PASSWORDS = {"bob": "bobsecret", "alice": "alicesecret", "super": "adminsecret"}

needs_zkcli = pytest.mark.skipif(not os.path.exists(ZKCLI) or not shutil.which("java"),
                                 reason="zkCli.sh (Debian package zookeeper) is not installed")


def write_jaas(directory, name, section, options):
    path = os.path.join(directory, name)
    lines = "\n".join(f'    {k}="{v}"' for k, v in options.items())
    with open(path, "w") as f:
        f.write(f"{section} {{\n    org.apache.zookeeper.server.auth.DigestLoginModule "
                f"required\n{lines};\n}};\n")
    return path


@pytest.fixture
def server_jaas(tmp_path):
    return write_jaas(tmp_path, "server_jaas.conf", "Server",
                      {f"user_{u}": p for u, p in PASSWORDS.items()})


def sasl_cfg(jaas_path):
    return {"authProvider.1": SASL_PROVIDER, "superUser": "alice",
            "java.security.auth.login.config": jaas_path}


def sasl_options(user, password):
    return {"mechanism": "DIGEST-MD5", "username": user, "password": password}


def assert_no_secret_logged(server):
    log = server.log()
    for secret in [*PASSWORDS.values(), "wrongsecret"]:
        assert secret not in log, f"{secret!r} appears in the server log"


def refused_login(hosts, user, password, session_timeout_s=10.0):
    """Starts a kazoo client whose SASL login must fail; returns its KeeperState when its
    session was lost (it moves on to CLOSED soon after)."""
    lost = threading.Event()
    zk = KazooClient(hosts=hosts, sasl_options=sasl_options(user, password),
                     timeout=session_timeout_s, connection_retry={"max_tries": 1, "delay": 0.1})
    seen = []

    def listener(state):
        if state == KazooState.LOST and not lost.is_set():
            seen.append(zk.client_state)
            lost.set()

    zk.add_listener(listener)
    try:
        try:
            # kazoo reports CONNECTED before its SASL exchange, so start() may return.
            zk.start(timeout=CONNECT_TIMEOUT_S)
        except AuthFailedError:
            pass
        assert lost.wait(STATE_TIMEOUT_S), "the client never saw its session lost"
        return seen[0]
    finally:
        zk.stop()
        zk.close()


def test_kazoo_login_and_sasl_acls(start_server, make_client, server_jaas):
    s = start_server("corral", sasl_cfg(server_jaas))
    bob = make_client(hosts=s.hosts, sasl_options=sasl_options("bob", "bobsecret"))
    bob.create("/bob", b"mine", acl=[make_acl("sasl", "bob", all=True)])
    assert bob.get("/bob")[0] == b"mine"
    # `auth` expands to the connection's sasl id, as ZooKeeper's fixupACL does.
    bob.create("/bob-auth", b"", acl=[make_acl("auth", "", all=True)])
    assert [(a.id.scheme, a.id.id) for a in bob.get_acls("/bob-auth")[0]] == [("sasl", "bob")]

    anonymous = make_client(hosts=s.hosts)
    with pytest.raises(NoAuthError):
        anonymous.get("/bob")
    carol = make_client(hosts=s.hosts, sasl_options=sasl_options("super", "adminsecret"))
    # SASLAuthenticationProvider.matches: a SASL user named `super` matches every sasl id.
    assert carol.get("/bob")[0] == b"mine"

    # alice is zookeeper.superUser: she passes every check, bob only his own.
    anonymous.create("/digest-only", b"d", acl=[make_digest_acl("dora", "pw", all=True)])
    alice = make_client(hosts=s.hosts, sasl_options=sasl_options("alice", "alicesecret"))
    assert alice.get("/digest-only")[0] == b"d"
    with pytest.raises(NoAuthError):
        bob.get("/digest-only")
    assert_no_secret_logged(s)


@pytest.mark.parametrize("kind", ["corral", "zookeeper"])
def test_wrong_credentials_are_refused(kind, start_server, make_client, server_jaas):
    s = start_server(kind, sasl_cfg(server_jaas))
    assert refused_login(s.hosts, "bob", "wrongsecret") == KeeperState.AUTH_FAILED
    assert refused_login(s.hosts, "mallory", "wrongsecret") == KeeperState.AUTH_FAILED
    if kind == "corral":
        # Apache ZooKeeper 3.8.0 lets an unknown user in with the password of the last user
        # its (shared) callback handler looked up; corral refuses (docs/compatibility.md).
        assert refused_login(s.hosts, "mallory", "bobsecret") == KeeperState.AUTH_FAILED
    # The server goes on serving the others.
    bob = make_client(hosts=s.hosts, sasl_options=sasl_options("bob", "bobsecret"))
    assert bob.exists("/") is not None
    if kind == "corral":
        assert_no_secret_logged(s)


def run_zkcli(server, jaas_path, commands):
    """zkCli.sh with a JAAS `Client` section, fed `commands`; every line it printed."""
    flags = ("-Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
             f"-Djava.security.auth.login.config={jaas_path}")
    env = dict(os.environ, CLIENT_JVMFLAGS=flags)
    done = subprocess.run([ZKCLI, "-server", server.hosts], input="\n".join(commands + ["quit"]),
                          text=True, capture_output=True, env=env, timeout=ZKCLI_TIMEOUT_S)
    return [line.strip() for line in (done.stdout + done.stderr).splitlines()]


@needs_zkcli
@pytest.mark.parametrize("kind", ["corral", "zookeeper"])
def test_zkcli_jaas_login(kind, start_server, server_jaas, tmp_path):
    s = start_server(kind, sasl_cfg(server_jaas))
    good = write_jaas(tmp_path, "good.conf", "Client",
                      {"username": "bob", "password": "bobsecret"})
    out = run_zkcli(s, good, ["create /z x sasl:bob:cdrwa", "getAcl /z", "get /z", "whoami"])
    assert "WatchedEvent state:SaslAuthenticated type:None path:null" in out, out
    assert "Created /z" in out, out
    i = out.index("'sasl,'bob")
    assert out[i:i + 3] == ["'sasl,'bob", ": cdrwa", "x"], out
    j = out.index("Auth scheme: User")
    assert sorted(out[j + 1:j + 3]) == ["ip: 127.0.0.1", "sasl: bob"], out

    bad = write_jaas(tmp_path, "bad.conf", "Client",
                     {"username": "bob", "password": "wrongsecret"})
    out = run_zkcli(s, bad, ["create /y x", "get /z"])
    assert "WatchedEvent state:AuthFailed type:None path:null" in out, out
    assert "Created /y" not in out and "x" not in out, out
    if kind == "corral":
        assert_no_secret_logged(s)


@pytest.mark.parametrize("kind", ["corral", "zookeeper"])
def test_sasl_client_against_a_server_without_sasl(kind, start_server):
    """The server answers every token with a null one. kazoo keeps sending empty tokens until
    its session expires (the exchange does not count as hearing from the client), then
    reports AUTH_FAILED."""
    s = start_server(kind)
    state = refused_login(s.hosts, "bob", "bobsecret", session_timeout_s=4.0)
    assert state == KeeperState.AUTH_FAILED


def test_jvm_flags_name_the_jaas_file(server_jaas):
    """As zkServer.sh passes SERVER_JVMFLAGS to java, corral reads the JAAS file from it."""
    s = servers.start_corral({"authProvider.1": SASL_PROVIDER},
                             env={"SERVER_JVMFLAGS": "-Xmx1g "
                                  f"-Djava.security.auth.login.config={server_jaas}"})
    try:
        zk = KazooClient(hosts=s.hosts, sasl_options=sasl_options("bob", "bobsecret"))
        zk.start(timeout=CONNECT_TIMEOUT_S)
        try:
            zk.create("/j", acl=[make_acl("sasl", "bob", all=True)])
            assert zk.get("/j")[0] == b""
        finally:
            zk.stop()
            zk.close()
        assert refused_login(s.hosts, "bob", "wrongsecret") == KeeperState.AUTH_FAILED
    finally:
        s.stop()


def test_jaas_file_without_the_server_section_stops_the_start(tmp_path):
    """ZooKeeper refuses to start when the named JAAS file lacks its section; so does corral."""
    jaas = write_jaas(tmp_path, "client_only.conf", "Client", {"username": "bob"})
    with pytest.raises(RuntimeError) as err:
        servers.start_corral(sasl_cfg(jaas))
    assert "no JAAS configuration section named 'Server'" in str(err.value)


OP_SASL = 102
AUTH_FAILED = -115


def sasl_body(token):
    return struct.pack("!i", len(token)) + token


@pytest.mark.parametrize("kind", ["corral", "zookeeper"])
@pytest.mark.parametrize("bad", [b'username="bob', b"\x00\xff=,,=", b"a" * 5000,
                                 b'username="bob",nonce="x",response=1,response=2'],
                         ids=["unterminated", "binary", "long", "duplicate"])
def test_malformed_tokens_get_auth_failed_and_a_close(kind, bad, start_server, server_jaas):
    s = start_server(kind, sasl_cfg(server_jaas))
    raw = zkwire.RawSession("127.0.0.1", s.port)
    try:
        zxid, err, body = raw.call(OP_SASL, sasl_body(b""))
        assert (zxid, err) == (0, 0) and b'realm="zk-sasl-md5"' in body, body
        assert raw.call(OP_SASL, sasl_body(bad)) == (0, AUTH_FAILED, b"\xff\xff\xff\xff")
        assert zkwire.connection_ended(raw.sock, STATE_TIMEOUT_S)
    finally:
        raw.abandon()
    # The server goes on serving.
    zkwire.RawSession("127.0.0.1", s.port).close_session()
