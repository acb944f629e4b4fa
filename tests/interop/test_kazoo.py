"""kazoo, unmodified, against the server: the data model (Stat fields, sequence numbers,
ephemerals, containers, TTL), sessions, watches, ACLs and multi. Every expectation here was
observed on Apache ZooKeeper 3.8 (CORRAL_TEST_TARGET=zookeeper)."""

import socket
import struct
import time

import pytest
from kazoo.exceptions import (BadArgumentsError, BadVersionError, NoAuthError,
                              NoChildrenForEphemeralsError, NodeExistsError, NoNodeError,
                              NotEmptyError, NoWatcherError, RolledBackError,
                              RuntimeInconsistency)
from kazoo.protocol.states import EventType, KazooState
from kazoo.security import OPEN_ACL_UNSAFE, make_acl, make_digest_acl

import kazoo_ext as kx
import zkwire

FAST_REAPER = {"znode.container.checkIntervalMs": "1000"}
REAP_TIMEOUT_S = 15.0


def barrier(client):
    """After this, every watch event caused by earlier writes has reached `client`'s
    callbacks: sync is ordered after those writes and its reply after their events."""
    client.sync("/")
    assert kx.callbacks_drained(client)


# ---- the tree a fresh server starts with ----------------------------------------------

def test_fresh_tree_matches_zookeeper(zk):
    _, root = zk.get("/")
    assert (root.czxid, root.mzxid, root.pzxid, root.ctime, root.mtime) == (0, 0, 0, 0, 0)
    assert (root.version, root.cversion, root.aversion, root.numChildren) == (0, -1, 0, 1)
    assert zk.get_children("/") == ["zookeeper"]
    assert sorted(zk.get_children("/zookeeper")) == ["config", "quota"]
    _, zkn = zk.get("/zookeeper")
    assert (zkn.czxid, zkn.version, zkn.cversion, zkn.aversion, zkn.numChildren) == (0, 0, -2, 0, 2)
    data, config = zk.get("/zookeeper/config")
    assert data == b""
    assert (config.czxid, config.version, config.cversion, config.aversion) == (0, 0, 0, -1)
    acls, _ = zk.get_acls("/zookeeper/config")
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [(1, "world", "anyone")]
    data, quota = zk.get("/zookeeper/quota")
    assert data == b"" and (quota.version, quota.cversion, quota.aversion) == (0, 0, 0)
    acls, _ = zk.get_acls("/")
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [(31, "world", "anyone")]


def test_system_nodes_are_protected(zk):
    with pytest.raises(BadArgumentsError):
        zk.delete("/")
    with pytest.raises(BadArgumentsError):
        zk.delete("/zookeeper")
    with pytest.raises(NoAuthError):
        zk.set("/zookeeper/config", b"x")
    # /zookeeper itself is an ordinary node for create (ZooKeeper allows children there).
    assert zk.create("/zookeeper/x") == "/zookeeper/x"


# ---- CRUD and Stat ------------------------------------------------------------------------

def test_create_get_set_delete_stats(zk):
    assert zk.create("/a", b"hello") == "/a"
    create_zxid = zk.last_zxid
    data, st = zk.get("/a")
    assert data == b"hello"
    assert st.czxid == st.mzxid == st.pzxid == create_zxid
    assert st.ctime == st.mtime > 0
    assert (st.version, st.cversion, st.aversion) == (0, 0, 0)
    assert (st.ephemeralOwner, st.dataLength, st.numChildren) == (0, 5, 0)
    _, root = zk.get("/")
    assert root.numChildren == 2 and root.cversion == 0 and root.pzxid == create_zxid
    assert root.mzxid == 0, "a child's create does not touch the parent's mzxid"

    st2 = zk.set("/a", b"xy")
    assert st2.mzxid == zk.last_zxid > st.mzxid
    assert st2.czxid == st.czxid and st2.pzxid == st.pzxid and st2.ctime == st.ctime
    assert (st2.version, st2.dataLength) == (1, 2) and st2.mtime >= st.mtime
    assert zk.set("/a", b"", version=1).version == 2
    with pytest.raises(BadVersionError):
        zk.set("/a", b"z", version=1)
    assert zk.get("/a") == (b"", zk.exists("/a"))
    assert zk.exists("/a").dataLength == 0

    zk.create("/a/b")
    child_zxid = zk.last_zxid
    st3 = zk.exists("/a")
    assert (st3.cversion, st3.numChildren, st3.pzxid) == (1, 1, child_zxid)
    assert st3.mzxid == st2.mzxid + (st3.mzxid - st2.mzxid) and st3.version == 2
    with pytest.raises(NotEmptyError):
        zk.delete("/a")
    with pytest.raises(BadVersionError):
        zk.delete("/a/b", version=3)
    zk.delete("/a/b", version=0)
    delete_zxid = zk.last_zxid
    st4 = zk.exists("/a")
    assert (st4.cversion, st4.numChildren, st4.pzxid) == (2, 0, delete_zxid)
    assert delete_zxid > child_zxid
    assert st4.mzxid == st3.mzxid, "child changes leave the parent's mzxid alone"
    zk.delete("/a", version=-1)
    assert zk.exists("/a") is None
    _, root = zk.get("/")
    assert (root.numChildren, root.cversion, root.pzxid) == (1, 1, zk.last_zxid)


def test_errors_of_simple_ops(zk):
    zk.create("/a")
    zk.create("/a/e", ephemeral=True)
    with pytest.raises(NodeExistsError):
        zk.create("/a")
    with pytest.raises(NoNodeError):
        zk.create("/x/y")
    with pytest.raises(NoNodeError):
        zk.get("/nope")
    with pytest.raises(NoNodeError):
        zk.get_children("/nope")
    with pytest.raises(NoNodeError):
        zk.set("/nope", b"")
    with pytest.raises(NoNodeError):
        zk.delete("/nope")
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create("/a/e/c")
    assert zk.exists("/nope") is None


def test_set_acls_versions(zk):
    zk.create("/a")
    st = zk.set_acls("/a", [make_acl("world", "anyone", all=True)], version=0)
    assert (st.aversion, st.version, st.cversion) == (1, 0, 0)
    with pytest.raises(BadVersionError):
        zk.set_acls("/a", OPEN_ACL_UNSAFE, version=0)
    assert zk.get_acls("/a")[1].aversion == 1


def test_get_children_with_stat_and_sync(zk):
    zk.create("/p")
    zk.create("/p/x", b"12")
    zk.create("/p/y", ephemeral=True)
    children, st = zk.get_children("/p", include_data=True)
    assert sorted(children) == ["x", "y"]
    assert (st.numChildren, st.cversion, st.pzxid) == (2, 2, zk.last_zxid)
    assert zk.sync("/p") == "/p"
    assert zk.sync("/does-not-exist") == "/does-not-exist"


# ---- sequential nodes ---------------------------------------------------------------------

def test_sequential_numbering_counts_creates_not_deletes(zk):
    # ZooKeeper stores, per node, the number of child creates; the sequence suffix is that
    # count, and the cversion clients see is 2 * creates - numChildren (DataNode.copyStat),
    # so it rises on deletes too. Hence "/" starts at cversion -1 and /zookeeper at -2.
    zk.create("/s")
    assert zk.create("/s/n-", sequence=True) == "/s/n-0000000000"
    zk.create("/s/plain")
    assert zk.create("/s/n-", sequence=True) == "/s/n-0000000002"
    zk.delete("/s/plain")
    assert zk.exists("/s").cversion == 4
    assert zk.create("/s/n-", sequence=True, ephemeral=True) == "/s/n-0000000003"
    st = zk.exists("/s/n-0000000003")
    assert st.ephemeralOwner == zk.client_id[0]
    assert zk.create("/s/", sequence=True) == "/s/0000000004"
    assert (zk.exists("/s").cversion, zk.exists("/s").numChildren) == (2 * 5 - 4, 4)
    assert sorted(zk.get_children("/s")) == [
        "0000000004", "n-0000000000", "n-0000000002", "n-0000000003"]
    for name in ("n-0000000000", "n-0000000002"):
        zk.delete("/s/" + name)
    assert zk.exists("/s").cversion == 2 * 5 - 2
    assert zk.create("/s/n-", sequence=True) == "/s/n-0000000005"


def test_sequence_suffix_is_ten_digits_then_wraps_width(zk):
    zk.create("/s")
    names = [zk.create("/s/x", sequence=True) for _ in range(12)]
    assert names[0] == "/s/x0000000000" and names[11] == "/s/x0000000011"
    assert all(len(n) == len("/s/x") + 10 for n in names)


# ---- ephemerals and sessions --------------------------------------------------------------

def test_ephemeral_removed_on_session_close(make_client, event_log):
    owner, observer = make_client(), make_client()
    owner.create("/e", b"x", ephemeral=True)
    st = observer.exists("/e")
    assert st.ephemeralOwner == owner.client_id[0] != 0
    assert st.ephemeralOwner != observer.client_id[0]
    log = event_log()
    assert observer.exists("/e", watch=log)
    owner.stop()
    (ev,) = log.wait(1)
    assert (ev.type, ev.path) == (EventType.DELETED, "/e")
    assert observer.exists("/e") is None


def test_ephemeral_removed_on_session_expiry(server, zk, event_log):
    # A raw session with the smallest timeout tickTime 2000 allows (4 s) creates an
    # ephemeral, then goes silent: no pings, socket left open.
    raw = zkwire.RawSession("127.0.0.1", server.port, timeout_ms=4000)
    assert raw.handshake["timeout_ms"] == 4000
    _, err, _ = raw.call(zkwire.OP_CREATE, zkwire.create_body("/eph", b"", zkwire.FLAG_EPHEMERAL))
    assert err == 0
    assert zk.exists("/eph").ephemeralOwner == raw.session_id
    log = event_log()
    zk.exists("/eph", watch=log)
    started = time.monotonic()
    try:
        (ev,) = log.wait(1, timeout_s=20)
        assert (ev.type, ev.path) == (EventType.DELETED, "/eph")
        elapsed = time.monotonic() - started
        # ZooKeeper expires between timeout and timeout + one tick (expiry buckets).
        assert 3.0 <= elapsed <= 12.0, elapsed
        # The server closes the expired session's connection.
        assert zkwire.connection_ended(raw.sock, 10)
    finally:
        raw.abandon()
    assert zk.exists("/eph") is None


def test_session_timeout_is_clamped_to_tick_bounds(server):
    for asked, granted in ((1, 4000), (10**9, 40000), (6000, 6000)):
        raw = zkwire.RawSession("127.0.0.1", server.port, timeout_ms=asked)
        try:
            assert raw.handshake["timeout_ms"] == granted
            assert raw.handshake["protocol_version"] == 0
            assert len(raw.handshake["passwd"]) == 16
        finally:
            raw.close_session()


# ---- one-shot watches ---------------------------------------------------------------------

def test_one_shot_data_exists_child_watches(make_client, event_log):
    zk, writer = make_client(), make_client()
    zk.create("/w")
    data_log, exists_log, child_log, created_log = event_log(), event_log(), event_log(), event_log()
    zk.get("/w", watch=data_log)
    zk.exists("/w", watch=exists_log)
    zk.get_children("/w", watch=child_log)
    assert zk.exists("/w/new", watch=created_log) is None

    writer.set("/w", b"1")
    (ev,) = data_log.wait(1)
    assert (ev.type, ev.path, ev.state) == (EventType.CHANGED, "/w", KazooState.CONNECTED)
    assert exists_log.wait(1)[0].type == EventType.CHANGED
    writer.set("/w", b"2")  # one-shot: no second event
    writer.create("/w/new")
    assert [(e.type, e.path) for e in created_log.wait(1)] == [(EventType.CREATED, "/w/new")]
    assert [(e.type, e.path) for e in child_log.wait(1)] == [(EventType.CHILD, "/w")]
    barrier(zk)
    assert len(data_log.events) == 1 and len(exists_log.events) == 1
    assert len(child_log.events) == 1

    # Deleting a node fires its data and child watches with DELETED, and the parent's
    # child watch with CHILD.
    gone_data, gone_child, parent_child = event_log(), event_log(), event_log()
    zk.get("/w/new", watch=gone_data)
    zk.get_children("/w/new", watch=gone_child)
    zk.get_children("/w", watch=parent_child)
    writer.delete("/w/new")
    assert [(e.type, e.path) for e in gone_data.wait(1)] == [(EventType.DELETED, "/w/new")]
    assert [(e.type, e.path) for e in gone_child.wait(1)] == [(EventType.DELETED, "/w/new")]
    assert [(e.type, e.path) for e in parent_child.wait(1)] == [(EventType.CHILD, "/w")]


def test_watch_event_precedes_reply_of_later_request(server, zk):
    zk.create("/w", b"0")
    raw = zkwire.RawSession("127.0.0.1", server.port)
    try:
        _, err, _ = raw.call(zkwire.OP_GET_DATA, zkwire.path_watch_body("/w", watch=True))
        assert err == 0
        zk.set("/w", b"1")  # acknowledged, so the trigger has happened
        raw.xid += 1
        raw.sock.sendall(zkwire.request(raw.xid, zkwire.OP_EXISTS, zkwire.path_watch_body("/zz")))
        assert zkwire.read_frames_until_xid(raw.sock, raw.xid) == [zkwire.WATCH_XID, raw.xid]

        # The session's own write: the event comes before the write's reply.
        _, err, _ = raw.call(zkwire.OP_GET_DATA, zkwire.path_watch_body("/w", watch=True))
        assert err == 0
        raw.xid += 1
        raw.sock.sendall(zkwire.request(raw.xid, zkwire.OP_SET_DATA, zkwire.set_data_body("/w", b"2")))
        assert zkwire.read_frames_until_xid(raw.sock, raw.xid) == [zkwire.WATCH_XID, raw.xid]
    finally:
        raw.close_session()


def test_watch_event_bytes(server, zk):
    zk.create("/w")
    raw = zkwire.RawSession("127.0.0.1", server.port)
    try:
        raw.call(zkwire.OP_EXISTS, zkwire.path_watch_body("/w", watch=True))
        zk.set("/w", b"1")
        frame = zkwire.read_frame(raw.sock)
        xid, zxid, err = struct.unpack_from("!iqi", frame, 0)
        # WatcherEvent{type, state, path} under a reply header with xid -1, zxid -1, err 0.
        assert (xid, zxid, err) == (-1, -1, 0)
        assert frame[16:] == struct.pack("!ii", 3, 3) + zkwire.ustring("/w")
    finally:
        raw.close_session()


# ---- persistent watches and removeWatches (sent as raw kazoo requests) -----------------------

def test_persistent_and_recursive_watches(make_client):
    zk, writer = make_client(), make_client()
    tap = kx.EventTap(zk)
    assert kx.add_watch(zk, "/w", kx.ADD_WATCH_PERSISTENT)
    assert kx.add_watch(zk, "/r", kx.ADD_WATCH_PERSISTENT_RECURSIVE)
    writer.create("/w")
    writer.set("/w", b"1")
    writer.create("/w/c")
    writer.set("/w/c", b"1")  # not seen: a persistent watch covers only its own path
    writer.delete("/w/c")
    writer.delete("/w")
    writer.create("/w")  # still registered after DELETED
    writer.create("/r")
    writer.create("/r/a")
    writer.create("/r/a/b")
    writer.set("/r/a", b"1")
    writer.delete("/r/a/b")
    barrier(writer)
    barrier(zk)
    assert tap.take() == [
        ("CREATED", "/w"), ("CHANGED", "/w"), ("CHILD", "/w"), ("CHILD", "/w"),
        ("DELETED", "/w"), ("CREATED", "/w"),
        # Recursive watches never report CHILD events.
        ("CREATED", "/r"), ("CREATED", "/r/a"), ("CREATED", "/r/a/b"), ("CHANGED", "/r/a"),
        ("DELETED", "/r/a/b")]


def test_remove_watches(make_client, event_log):
    zk, writer = make_client(), make_client()
    zk.create("/a")
    with pytest.raises(NoWatcherError):
        kx.remove_watches(zk, "/a", kx.WATCHER_TYPE_ANY)
    tap = kx.EventTap(zk)
    zk.get("/a", watch=event_log())
    zk.get_children("/a", watch=event_log())
    with pytest.raises(NoWatcherError):
        kx.call(zk, kx.CheckWatches("/zz", kx.WATCHER_TYPE_DATA))
    assert kx.call(zk, kx.CheckWatches("/a", kx.WATCHER_TYPE_DATA))
    assert kx.remove_watches(zk, "/a", kx.WATCHER_TYPE_DATA)
    with pytest.raises(NoWatcherError):
        kx.remove_watches(zk, "/a", kx.WATCHER_TYPE_DATA)
    writer.set("/a", b"1")  # the data watch is gone, so no event
    writer.create("/a/c")   # the child watch is still there
    barrier(writer)
    barrier(zk)
    assert tap.take() == [("CHILD", "/a")]
    kx.add_watch(zk, "/p", kx.ADD_WATCH_PERSISTENT)
    assert kx.remove_watches(zk, "/p", kx.WATCHER_TYPE_ANY)
    writer.create("/p")
    barrier(writer)
    barrier(zk)
    assert tap.take() == []


# ---- ACLs ---------------------------------------------------------------------------------

def test_digest_acl_enforced(make_client):
    owner, stranger = make_client(), make_client()
    owner.add_auth("digest", "u:p")
    digest = make_digest_acl("u", "p", all=True)
    owner.create("/sec", b"s", acl=[digest])
    owner.create("/sec/child")
    for op in (lambda: stranger.get("/sec"), lambda: stranger.set("/sec", b""),
               lambda: stranger.create("/sec/x"), lambda: stranger.get_children("/sec"),
               lambda: stranger.get_acls("/sec"), lambda: stranger.delete("/sec/child"),
               lambda: stranger.set_acls("/sec", OPEN_ACL_UNSAFE)):
        with pytest.raises(NoAuthError):
            op()
    assert stranger.exists("/sec").dataLength == 1  # exists checks no ACL
    assert owner.get("/sec")[0] == b"s"
    acls, _ = owner.get_acls("/sec")
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [(31, "digest", digest.id.id)]
    stranger.add_auth("digest", "u:p")
    assert stranger.get("/sec")[0] == b"s"
    stranger.delete("/sec/child")
    # Deleting /sec needs DELETE on "/", not on /sec.
    other = make_client()
    other.delete("/sec")


def test_super_digest_bypasses_acls(start_server, make_client):
    # zoo.cfg's superDigest (ZooKeeper's DigestAuthenticationProvider.superDigest property):
    # whoever authenticates as that digest passes every ACL check.
    super_id = make_digest_acl("super", "secret").id.id
    server = start_server(extra_cfg={
        "zookeeper.DigestAuthenticationProvider.superDigest": super_id})
    owner, admin, stranger = (make_client(hosts=server.hosts) for _ in range(3))
    owner.add_auth("digest", "u:p")
    owner.create("/locked", b"mine", acl=[make_digest_acl("u", "p", all=True)])
    owner.create("/locked/child")
    with pytest.raises(NoAuthError):
        stranger.get("/locked")
    admin.add_auth("digest", "super:secret")
    assert admin.get("/locked")[0] == b"mine"
    admin.set("/locked", b"taken")
    admin.delete("/locked/child")
    acls, _ = admin.get_acls("/locked")
    assert acls[0].id.id == make_digest_acl("u", "p").id.id, "super sees digests unredacted"
    stranger.add_auth("digest", "super:wrong")
    with pytest.raises(NoAuthError):
        stranger.get("/locked")


def test_read_only_acl_and_digest_redaction(make_client):
    zk = make_client()
    zk.create("/ro", b"r", acl=[make_acl("world", "anyone", read=True)])
    assert zk.get("/ro")[0] == b"r"
    assert zk.get_acls("/ro")[0][0].perms == 1  # READ suffices for getACL
    with pytest.raises(NoAuthError):
        zk.set("/ro", b"")
    with pytest.raises(NoAuthError):
        zk.set_acls("/ro", OPEN_ACL_UNSAFE)
    zk.add_auth("digest", "u:p")
    full = make_digest_acl("u", "p", all=True)
    zk.create("/admin", acl=[full])
    zk.create("/reader", acl=[make_digest_acl("u", "p", read=True)])
    assert zk.get_acls("/admin")[0][0].id.id == full.id.id
    # Without ADMIN on the node, getACL hides the digest: "user:x".
    assert [(a.perms, a.id.scheme, a.id.id) for a in zk.get_acls("/reader")[0]] == [
        (1, "digest", "u:x")]


def test_auth_scheme_and_ip_scheme(make_client):
    zk = make_client()
    with pytest.raises(Exception) as e:
        zk.create("/needs-auth", acl=[make_acl("auth", "", all=True)])
    assert type(e.value).__name__ == "InvalidACLError"
    zk.add_auth("digest", "u:p")
    zk.add_auth("digest", "v:q")
    zk.create("/mine", acl=[make_acl("auth", "", all=True)])
    ids = sorted(a.id.id for a in zk.get_acls("/mine")[0])
    assert ids == sorted([make_digest_acl("u", "p").id.id, make_digest_acl("v", "q").id.id])
    zk.create("/local", acl=[make_acl("ip", "127.0.0.1", all=True)])
    assert zk.get("/local")[0] == b""
    zk.create("/far", acl=[make_acl("ip", "10.0.0.0/8", all=True)])
    with pytest.raises(NoAuthError):
        zk.get("/far")


@pytest.mark.parametrize("acl", [
    make_acl("digest", "no-colon", all=True),
    make_acl("nosuchscheme", "x", all=True),
    make_acl("ip", "1.2.3.4/99", all=True),
    make_acl("ip", "not-an-ip", all=True),
])
def test_invalid_acl(zk, acl):
    from kazoo.exceptions import InvalidACLError
    with pytest.raises(InvalidACLError):
        zk.create("/bad", acl=[acl])
    zk.create("/good")
    with pytest.raises(InvalidACLError):
        zk.set_acls("/good", [acl])
    with pytest.raises(InvalidACLError):
        zk.set_acls("/good", [])
    assert zk.exists("/bad") is None


def test_unknown_auth_scheme_fails_only_that_session(make_client):
    from kazoo.exceptions import AuthFailedError
    victim, bystander = make_client(), make_client()
    bystander.create("/still-here")
    with pytest.raises(AuthFailedError):
        victim.add_auth("nosuchscheme", "x")
    assert victim.client_state in ("AUTH_FAILED", "CLOSED") or not victim.connected
    assert bystander.get("/still-here")[0] == b""


# ---- multi --------------------------------------------------------------------------------

def test_transaction_all_or_nothing(zk):
    zk.create("/a")
    before = zk.exists("/")
    t = zk.transaction()
    t.create("/m1")
    t.create("/a")
    t.create("/m2")
    results = t.commit()
    assert [type(r) for r in results] == [RolledBackError, NodeExistsError, RuntimeInconsistency]
    assert zk.exists("/m1") is None and zk.exists("/m2") is None
    after = zk.exists("/")
    assert (after.cversion, after.numChildren, after.pzxid) == (
        before.cversion, before.numChildren, before.pzxid)

    t = zk.transaction()
    t.check("/a", 5)
    t.create("/m1")
    results = t.commit()
    assert [type(r) for r in results] == [BadVersionError, RuntimeInconsistency]

    t = zk.transaction()
    t.check("/nope", 0)
    assert [type(r) for r in t.commit()] == [NoNodeError]
    assert zk.transaction().commit() == []


def test_transaction_results_and_intermediate_state(zk):
    t = zk.transaction()
    t.create("/q", b"1")
    t.create("/q/c")
    t.set_data("/q", b"22")
    t.check("/q", 1)
    t.delete("/q/c")
    results = t.commit()
    zxid = zk.last_zxid
    assert results[:2] == ["/q", "/q/c"]
    st = results[2]
    # The setData result shows the state inside the transaction: /q/c exists there.
    assert (st.version, st.cversion, st.numChildren, st.dataLength) == (1, 1, 1, 2)
    assert st.czxid == st.mzxid == st.pzxid == zxid, "one zxid for the whole transaction"
    assert results[3:] == [True, True]
    final = zk.exists("/q")
    assert (final.version, final.cversion, final.numChildren, final.pzxid) == (1, 2, 0, zxid)


# ---- containers and TTL nodes --------------------------------------------------------------

def test_container_reaped_after_last_child_goes(start_server, make_client, event_log):
    server = start_server(extra_cfg=FAST_REAPER)
    zk = make_client(hosts=server.hosts)
    path, st = kx.create_container(zk, "/c")
    assert path == "/c" and st.ephemeralOwner == 0 and st.version == 0
    # create2 (15) with the container flag makes an ordinary persistent node: only
    # createContainer (19) makes a container.
    kx.call(zk, kx.Create2("/c2", b"", OPEN_ACL_UNSAFE, kx.CREATE_FLAG_CONTAINER))
    kx.create_container(zk, "/never-used")
    zk.create("/c/x")
    zk.create("/c2/x")
    zk.delete("/c2/x")
    log = event_log()
    zk.exists("/c", watch=log)
    zk.delete("/c/x")
    (ev,) = log.wait(1, timeout_s=REAP_TIMEOUT_S)
    assert (ev.type, ev.path) == (EventType.DELETED, "/c")
    # The reaper pass that removed /c saw /c2 empty too, and left it.
    assert zk.exists("/c2") is not None
    # A container that never had a child stays (maxNeverUsedIntervalMs defaults to 0).
    assert zk.exists("/never-used") is not None


def test_ttl_nodes(start_server, make_client, event_log):
    server = start_server(extra_cfg=FAST_REAPER)
    zk = make_client(hosts=server.hosts)
    path, st = kx.create_ttl(zk, "/t", 500)
    assert path == "/t" and st.ephemeralOwner == 0
    seq_path, _ = kx.create_ttl(zk, "/ts-", 3_600_000, sequential=True)
    assert seq_path == "/ts-0000000001"
    kx.create_ttl(zk, "/parent", 500)
    zk.create("/parent/kid")
    log = event_log()
    zk.exists("/t", watch=log)
    assert log.wait(1, timeout_s=REAP_TIMEOUT_S)[0].type == EventType.DELETED
    # Reaping ran: a TTL node with a child and a long TTL both stay.
    assert zk.exists("/parent") is not None
    assert zk.exists(seq_path) is not None


@pytest.mark.parametrize("make_req", [
    lambda: kx.CreateTTL("/t", b"", OPEN_ACL_UNSAFE, kx.CREATE_FLAG_PERSISTENT_WITH_TTL, 0),
    lambda: kx.CreateTTL("/t", b"", OPEN_ACL_UNSAFE, kx.CREATE_FLAG_PERSISTENT_WITH_TTL, 1 << 40),
    lambda: kx.CreateTTL("/t", b"", OPEN_ACL_UNSAFE, 0, 1000),
    lambda: kx.CreateTTL("/t", b"", OPEN_ACL_UNSAFE, kx.CREATE_FLAG_EPHEMERAL, 1000),
    lambda: kx.CreateTTL("/t", b"", OPEN_ACL_UNSAFE, kx.CREATE_FLAG_SEQUENTIAL, 1000),
    lambda: kx.Create2("/t", b"", OPEN_ACL_UNSAFE, kx.CREATE_FLAG_PERSISTENT_WITH_TTL),
], ids=["ttl-0", "ttl-2^40", "flags-persistent", "flags-ephemeral", "flags-sequential",
        "create2-with-ttl-flag"])
def test_ttl_bad_arguments(zk, make_req):
    with pytest.raises(BadArgumentsError):
        kx.call(zk, make_req())
    assert zk.exists("/t") is None


def test_largest_ttl_accepted(zk):
    assert kx.create_ttl(zk, "/t", (1 << 40) - 1)[0] == "/t"


def test_multi_result_types_per_create_flavour(server):
    # ZooKeeper 3.8 answers create2 inside a multi as a plain create (path only), while
    # createContainer and createTTL come back as create2 results with a Stat.
    def header(op):
        return struct.pack("!i?i", op, False, -1)

    ttl_body = zkwire.create_body("/t", b"", flags=5) + struct.pack("!q", 10_000)
    body = (header(15) + zkwire.create_body("/a") + header(19) + zkwire.create_body("/c", flags=4)
            + header(21) + ttl_body + header(1) + zkwire.create_body("/p")
            + struct.pack("!i?i", -1, True, -1))
    raw = zkwire.RawSession("127.0.0.1", server.port)
    try:
        _, err, reply = raw.call(14, body)
    finally:
        raw.close_session()
    assert err == 0
    types, offset = [], 0
    while True:
        op, done, _ = struct.unpack_from("!i?i", reply, offset)
        offset += 9
        if done:
            break
        types.append(op)
        (path_len,) = struct.unpack_from("!i", reply, offset)
        offset += 4 + path_len
        if op == 15:
            offset += 68  # the Stat
    assert types == [1, 15, 15, 1]
