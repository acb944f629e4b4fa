"""`corral admin import-zookeeper` on a real Apache ZooKeeper 3.8 data directory (corral only;
skipped when ZooKeeper is not installed).

ZooKeeper runs with a small snapCount so its dataDir holds snapshots taken while writes went on
and a txn log after them. kazoo writes a tree that uses every kind of txn: persistent,
sequential, ephemeral (of a session that stays open, and of one that closes), container, TTL,
ACLs (digest, read-only, setACL), data of many sizes incl. empty and null-free 100 KiB,
setData, deletes, multis that commit and one that fails. Every node's data, Stat and ACL is
recorded through kazoo, ZooKeeper is SIGKILLed, the directory imported, corral started on the
result: every node must read back identical (zxids and times included), the open session must
resume with the id and password ZooKeeper gave it (so its ephemerals stay), and a new write
must get a zxid above every imported one.
"""

import os
import shutil
import subprocess
import tempfile

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NoNodeError
from kazoo.security import READ_ACL_UNSAFE, make_digest_acl

import kazoo_ext as kx
import servers

pytestmark = [
    pytest.mark.skipif(servers.target_kind() != "corral", reason="imports into corral"),
    pytest.mark.skipif(not (shutil.which("java")
                            and os.path.exists(f"{servers.ZK_JARS}/zookeeper.jar")),
                       reason="Apache ZooKeeper is not installed"),
]

ZK_CFG = {
    # Read by ZooKeeper as the system property zookeeper.snapCount (zoo.cfg's unknown keys
    # become `zookeeper.<key>`); it snapshots after snapCount/2 + rand(snapCount/2) txns.
    "snapCount": "20",
    "maxSessionTimeout": "60000",
}
CONNECT_TIMEOUT_S = 15.0


def client(hosts, **kwargs):
    c = KazooClient(hosts=hosts, timeout=10.0,
                    connection_retry={"max_tries": 3, "delay": 0.1, "max_delay": 1},
                    command_retry={"max_tries": 0}, **kwargs)
    c.start(timeout=CONNECT_TIMEOUT_S)
    return c


def write_tree(zk, other):
    """Every kind of change ZooKeeper logs. `other` is a session that is closed afterwards."""
    digest = make_digest_acl("alice", "secret", all=True)
    zk.add_auth("digest", "alice:secret")
    zk.create("/imp", b"root of the import")
    for i, size in enumerate([0, 1, 100, 1000, 10_000, 100 * 1024]):
        zk.create(f"/imp/data{i}", bytes((i + j) % 251 for j in range(size)))
    for i in range(30):  # enough txns for several snapshots
        zk.create(f"/imp/many/n{i:03}", b"x" * i, makepath=True)
    for i in range(0, 30, 3):
        zk.delete(f"/imp/many/n{i:03}")
    for i in range(5):
        zk.create("/imp/seq/s-", b"%d" % i, sequence=True, makepath=True)
    zk.delete("/imp/seq/" + sorted(zk.get_children("/imp/seq"))[1])
    zk.create("/imp/eph", b"mine", ephemeral=True)
    zk.create("/imp/ephseq-", b"", ephemeral=True, sequence=True)
    other.create("/imp/gone", b"closes with its session", ephemeral=True)
    kx.create_container(zk, "/imp/cont")
    zk.create("/imp/cont/child", b"keeps the container")
    kx.create_ttl(zk, "/imp/ttl", 3_600_000, b"lives an hour")
    zk.create("/imp/secret", b"digest only", acl=[digest])
    zk.create("/imp/ro", b"read only", acl=READ_ACL_UNSAFE)
    zk.create("/imp/acl", b"")
    zk.set_acls("/imp/acl", [digest])
    zk.set_acls("/imp/acl", [digest] + list(READ_ACL_UNSAFE))
    for v in range(4):
        zk.set("/imp/data2", b"version %d" % (v + 1))
    zk.set("/imp/secret", b"changed by its owner")
    t = zk.transaction()
    t.create("/imp/multi", b"m")
    t.create("/imp/multi/a", b"a")
    t.set_data("/imp/data1", b"set in a multi")
    t.delete("/imp/many/n001")
    t.check("/imp", 0)
    results = t.commit()
    assert not any(isinstance(r, Exception) for r in results), results
    t = zk.transaction()
    t.create("/imp/never", b"")
    t.check("/imp", 99)
    assert isinstance(t.commit()[1], BadVersionError)
    with pytest.raises(BadVersionError):
        zk.set("/imp/data2", b"stale", version=1)
    for i in range(20):  # more txns after the last deletes, so the log runs past a snapshot
        zk.set("/imp/many/n002", b"%d" % i)


def record(zk):
    """path -> (data, stat, acl) for the whole tree, read through kazoo."""
    out = {}
    todo = ["/"]
    while todo:
        path = todo.pop()
        data, stat = zk.get(path)
        acl, _ = zk.get_acls(path)
        out[path] = (data, stat, sorted((a.perms, a.id.scheme, a.id.id) for a in acl))
        for c in zk.get_children(path):
            todo.append(("/" if path == "/" else path + "/") + c)
    return out


def zk_files(datadir):
    """The snapshot and log names, each ascending by the zxid in the name."""
    names = os.listdir(os.path.join(datadir, "version-2"))
    by_zxid = lambda prefix: sorted((n for n in names if n.startswith(prefix)),  # noqa: E731
                                    key=lambda n: int(n[len(prefix):], 16))
    return by_zxid("snapshot."), by_zxid("log.")


def import_dir(datadir, out_dir):
    imported = subprocess.run(
        [servers.CORRAL_BIN, "admin", "import-zookeeper", datadir, "--to", out_dir],
        capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert "imported" in imported.stdout, imported.stdout
    print(imported.stdout)
    return imported.stdout


def check_same_tree(corral, recorded, label):
    zk = client(corral.hosts)
    try:
        zk.add_auth("digest", "alice:secret")
        got = record(zk)
    finally:
        zk.stop()
        zk.close()
    assert sorted(got) == sorted(recorded), label
    for path, (data, stat, acl) in recorded.items():
        g_data, g_stat, g_acl = got[path]
        assert g_data == data, (label, path)
        assert g_stat == stat, (label, path, g_stat, stat)
        assert g_acl == acl, (label, path)


def test_import_zookeeper_tree_stats_acls_and_sessions():
    zk_server = servers.start_zookeeper(ZK_CFG)
    tmp = tempfile.mkdtemp(prefix="corral-import-")
    started = []
    live = other = resumed = None
    try:
        live = client(zk_server.hosts)
        other = client(zk_server.hosts)
        write_tree(live, other)
        other.stop()
        other.close()
        other = None
        assert not live.exists("/imp/gone")
        recorded = record(live)
        session = live.client_id
        # A crash: whatever ZooKeeper acknowledged is in its log.
        zk_server.kill()
        live.stop()
        live.close()
        live = None

        datadir = os.path.join(zk_server.workdir, "data")
        snaps, logs = zk_files(datadir)
        assert snaps and logs, (snaps, logs)
        assert len(snaps) >= 3, f"expected snapshots besides snapshot.0: {snaps}"

        # The same tree from older starting points: the newest snapshot damaged (skipped, so
        # more of the log is replayed), and only the first snapshot (the whole log replayed).
        damaged = os.path.join(tmp, "damaged")
        shutil.copytree(datadir, damaged)
        newest = os.path.join(damaged, "version-2", snaps[-1])
        with open(newest, "r+b") as f:
            f.seek(40)
            b = f.read(1)
            f.seek(40)
            f.write(bytes([b[0] ^ 0x55]))
        oldest = os.path.join(tmp, "oldest")
        shutil.copytree(datadir, oldest)
        for n in snaps[1:]:
            os.remove(os.path.join(oldest, "version-2", n))
        for label, src, expect in (("damaged newest", damaged, "skipped snapshot"),
                                   ("snapshot.0 only", oldest, "snapshot.0 ")):
            out_dir = os.path.join(tmp, label.replace(" ", "-"))
            report = import_dir(src, out_dir)
            assert expect in report, report
            corral = servers.start_corral({"dataDir": out_dir})
            started.append(corral)
            check_same_tree(corral, recorded, label)
            corral.stop()

        out_dir = os.path.join(tmp, "out")
        import_dir(datadir, out_dir)
        corral = servers.start_corral({"dataDir": out_dir, "maxSessionTimeout": "60000"})
        started.append(corral)
        check_same_tree(corral, recorded, "newest snapshot")

        # The session that was open resumes on corral with ZooKeeper's id and password.
        resumed = client(corral.hosts, client_id=session)
        assert resumed.client_id[0] == session[0]
        _, stat = resumed.get("/imp/eph")
        assert stat.ephemeralOwner == session[0]
        resumed.add_auth("digest", "alice:secret")
        assert resumed.get("/imp/secret")[0] == b"changed by its owner"
        resumed.create("/imp/after", b"")
        _, after = resumed.get("/imp/after")
        last = max(max(s.czxid, s.mzxid, s.pzxid) for _, s, _ in recorded.values())
        assert after.czxid > last
        with pytest.raises(NoNodeError):
            resumed.get("/imp/gone")
        resumed.stop()
        resumed.close()
        resumed = None

        # A restart from the imported snapshot plus corral's own log keeps both.
        corral.kill()
        corral.restart()
        zk = client(corral.hosts)
        try:
            _, again = zk.get("/imp/after")
            assert again == after
            assert zk.get("/imp/data5")[0] == recorded["/imp/data5"][0]
        finally:
            zk.stop()
            zk.close()
    finally:
        for c in (live, other, resumed):
            if c is not None:
                try:
                    c.stop()
                    c.close()
                except Exception:
                    pass
        for c in started:
            c.stop()  # removes its own workdir; the data directories are in tmp
        zk_server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
