"""TLS on the client port (`secureClientPort`, ZooKeeper's `ssl.*` keys) with unmodified
clients: kazoo's TLS client and zkCli.sh over Netty with a PEM key store; the plain port
served at the same time; refused handshakes (an untrusted client certificate under
`ssl.clientAuth=need`, plaintext on the TLS port) end in a closed connection; the `x509`
scheme gives a client certificate's subject (RFC 2253, as Java prints it) as an ACL id."""

import os
import shutil
import socket
import time

import pytest
from kazoo.exceptions import NoAuthError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.security import ACL, Id, Permissions

import servers
import zkwire
from tls_certs import Certs, needs_openssl

CLIENT_DN = "CN=client,O=corral"
OTHER_DN = "CN=other,O=corral"
ADMIN_DN = "CN=admin,O=corral"
REFUSED_TIMEOUT_S = 10.0

pytestmark = needs_openssl


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    c = Certs(str(tmp_path_factory.mktemp("certs")))
    c.issue("server", "/CN=localhost")
    c.issue("client", "/O=corral/CN=client")
    c.issue("other", "/O=corral/CN=other")
    c.issue("admin", "/O=corral/CN=admin")
    c.ca("rogue")
    c.issue("rogue-client", "/O=corral/CN=client", ca="rogue")
    return c


def start_tls_corral(start_server, certs, client_auth="need", **extra):
    """A corral with both ports; returns (server, secure port)."""
    secure = servers.free_port()
    cfg = {
        "secureClientPort": str(secure),
        "serverCnxnFactory": "org.apache.zookeeper.server.NettyServerCnxnFactory",
        "ssl.keyStore.location": certs.path("server.pem"),
        "ssl.trustStore.location": certs.path("ca.crt"),
        "ssl.clientAuth": client_auth,
        "authProvider.x509": "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
        **extra,
    }
    return start_server("corral", cfg), secure


def tls_client(make_client, certs, port, cert="client", **kwargs):
    files = {} if cert is None else {"certfile": certs.path(f"{cert}.crt"),
                                     "keyfile": certs.path(f"{cert}.key")}
    return make_client(hosts=f"127.0.0.1:{port}", use_ssl=True, ca=certs.path("ca.crt"),
                       verify_certs=True, **files, **kwargs)


def test_kazoo_over_tls_and_plain_at_once(start_server, make_client, certs):
    server, secure = start_tls_corral(start_server, certs)
    zk_tls = tls_client(make_client, certs, secure)
    zk_tls.create("/over-tls", b"secret")
    zk_plain = make_client(hosts=server.hosts)
    assert zk_plain.get("/over-tls")[0] == b"secret"
    conf = zkwire.four_letter(server.port, "conf")
    assert f"secureClientPort={secure}" in conf.splitlines()
    assert "authenticated 127.0.0.1" in server.log() and f"x509:{CLIENT_DN}" in server.log()


def test_an_untrusted_client_certificate_is_refused(start_server, make_client, certs):
    server, secure = start_tls_corral(start_server, certs, client_auth="need")
    with pytest.raises(KazooTimeoutError):
        tls_client(make_client, certs, secure, cert="rogue-client",
                   connect_timeout_s=REFUSED_TIMEOUT_S, connection_retry={"max_tries": 1})
    with pytest.raises(KazooTimeoutError):
        tls_client(make_client, certs, secure, cert=None,
                   connect_timeout_s=REFUSED_TIMEOUT_S, connection_retry={"max_tries": 1})
    assert "TLS handshake failed" in server.log()


def test_want_serves_a_client_without_a_certificate(start_server, make_client, certs):
    _, secure = start_tls_corral(start_server, certs, client_auth="want")
    zk = tls_client(make_client, certs, secure, cert=None)
    zk.create("/anonymous")
    # Without a certificate there is no x509 identity to expand `auth` into.
    with pytest.raises(Exception):
        zk.create("/mine", acl=[ACL(Permissions.ALL, Id("auth", ""))])


def test_plaintext_on_the_tls_port_is_closed(start_server, certs):
    server, secure = start_tls_corral(start_server, certs)
    with socket.create_connection(("127.0.0.1", secure), timeout=REFUSED_TIMEOUT_S) as s:
        s.sendall(zkwire.connect_request(30000))
        # The server answers a TLS alert at most, never a ConnectResponse, and closes.
        assert zkwire.connection_ended(s, REFUSED_TIMEOUT_S)
    # A four-letter word is not answered either.
    with socket.create_connection(("127.0.0.1", secure), timeout=REFUSED_TIMEOUT_S) as s:
        s.sendall(b"ruok")
        got = b""
        deadline = time.monotonic() + REFUSED_TIMEOUT_S
        while time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        assert b"imok" not in got
    assert zkwire.probe_session("127.0.0.1", server.port), "the plain port still serves"


def test_x509_acl_names_the_certificate_subject(start_server, make_client, certs):
    _, secure = start_tls_corral(start_server, certs,
                                 **{"X509AuthenticationProvider.superUser": ADMIN_DN})
    owner = tls_client(make_client, certs, secure, cert="client")
    owner.create("/x509-only", b"for the client",
                 acl=[ACL(Permissions.ALL, Id("x509", CLIENT_DN))])
    # `auth` expands into the connection's x509 identity, as ZooKeeper's fixupACL does.
    owner.create("/by-auth", b"", acl=[ACL(Permissions.READ, Id("auth", ""))])
    assert owner.get_acls("/by-auth")[0] == [ACL(Permissions.READ, Id("x509", CLIENT_DN))]
    assert owner.get("/x509-only")[0] == b"for the client"
    other = tls_client(make_client, certs, secure, cert="other")
    with pytest.raises(NoAuthError):
        other.get("/x509-only")
    admin = tls_client(make_client, certs, secure, cert="admin")
    assert admin.get("/x509-only")[0] == b"for the client"


@pytest.mark.skipif(not shutil.which("keytool"), reason="keytool (a JDK) makes the trust store")
def test_pkcs12_key_and_trust_stores(start_server, make_client, certs):
    server, secure = start_tls_corral(start_server, certs, **{
        "ssl.keyStore.location": certs.pkcs12("server", "key-secret"),
        "ssl.keyStore.password": "key-secret",
        "ssl.trustStore.location": certs.pkcs12_trust("ca", "trust-secret"),
        "ssl.trustStore.type": "PKCS12",
        "ssl.trustStore.password": "trust-secret",
    })
    zk = tls_client(make_client, certs, secure)
    zk.create("/pkcs12")
    with pytest.raises(KazooTimeoutError):
        tls_client(make_client, certs, secure, cert="rogue-client",
                   connect_timeout_s=REFUSED_TIMEOUT_S, connection_retry={"max_tries": 1})
    assert "secret" not in server.log()


def test_a_wrong_store_password_stops_start_up(certs, tmp_path):
    cfg = {"secureClientPort": str(servers.free_port()),
           "ssl.keyStore.location": certs.pkcs12("server", "right"),
           "ssl.keyStore.password": "wrong",
           "ssl.clientAuth": "none"}
    with pytest.raises(RuntimeError) as failed:
        servers.start_corral(cfg)
    assert "server.p12" in str(failed.value) and "wrong" not in str(failed.value).split("log tail")[0]


ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
NETTY_JARS = ("buffer", "common", "handler", "transport", "codec", "resolver",
              "transport-native-unix-common", "transport-native-epoll")


@pytest.mark.skipif(not os.path.exists(ZKCLI) or not shutil.which("java"),
                    reason="zkCli.sh (Debian package zookeeper) is not installed")
def test_zkcli_over_tls_with_a_pem_key_store(start_server, make_client, certs):
    from test_zkcli import ZkCli

    _, secure = start_tls_corral(start_server, certs)
    owner = tls_client(make_client, certs, secure)
    owner.create("/from-kazoo", b"hello", acl=[ACL(Permissions.ALL, Id("x509", CLIENT_DN))])
    flags = " ".join([
        # Debian's zkCli.sh puts zookeeper.jar alone on the classpath, and its manifest lacks
        # netty-codec and netty-resolver, which ClientCnxnSocketNetty needs: every netty jar
        # goes on the boot class path (together, so they see each other).
        "-Xbootclasspath/a:" + ":".join(f"/usr/share/java/netty-{j}.jar" for j in NETTY_JARS),
        "-Dzookeeper.client.secure=true",
        "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
        f"-Dzookeeper.ssl.keyStore.location={certs.path('client.pem')}",
        "-Dzookeeper.ssl.keyStore.type=PEM",
        f"-Dzookeeper.ssl.trustStore.location={certs.path('ca.crt')}",
        "-Dzookeeper.ssl.trustStore.type=PEM",
    ])

    class Secure:
        hosts = f"127.0.0.1:{secure}"

    cli = ZkCli(Secure(), jvm_flags=flags)
    try:
        assert cli.run("get /from-kazoo") == ["hello"]
        cli.run("create /from-zkcli world")
    finally:
        cli.quit()
    assert owner.get("/from-zkcli")[0] == b"world"
