"""corral on a full disk (corral only: it mounts a small tmpfs as the data directory, which
needs root or CAP_SYS_ADMIN; the tests skip with the reason otherwise).

1. The guard: with `minFreeDiskBytes` larger than what is left, client writes get SystemError
   (kazoo's SystemZookeeperError) while reads, new sessions and four-letter words go on and the
   disk does not fill further; once space returns, writes succeed again by themselves, and
   after a SIGKILL and restart every acknowledged write is there and no refused one is.
2. Past the guard (`minFreeDiskBytes=0`, the disk filled to the last byte): the raft log write
   fails with ENOSPC and openraft stops for good. The server must then exit with a message
   that says so (not hang), refuse to start while the disk is still full (again saying why),
   and start cleanly once space is back, with every acknowledged write there.
"""

import errno
import os
import shutil
import subprocess
import tempfile
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (ConnectionClosedError, ConnectionLoss, NoNodeError,
                              SystemZookeeperError)

import zkwire
from kazoo.handlers.threading import KazooTimeoutError
from kazoo_ext import stop

pytestmark = pytest.mark.skipif(os.environ.get("CORRAL_TEST_TARGET", "corral") != "corral",
                                reason="corral's disk guard on a tmpfs it mounts")

MiB = 1 << 20
TMPFS_MiB = 48
RESERVE = 16 * MiB
DATA = b"d" * 1000
# The guard reads free space at most every 100 ms; these bound every wait on it.
GUARD_TIMEOUT_S = 5.0
EXIT_TIMEOUT_S = 15.0
# Records of DATA that the log file's last, partly used page can take (a page is 4 KiB).
MAX_WRITES_INTO_LAST_PAGE = 20


@pytest.fixture
def tmpfs():
    """A fresh tmpfs of TMPFS_MiB mounted on a temporary directory."""
    mnt = tempfile.mkdtemp(prefix="corral-tmpfs-")
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MiB}m",
                            "corral-test", mnt], capture_output=True, text=True, timeout=30)
        why = r.stderr.strip() if r.returncode != 0 else None
    except OSError as e:  # no mount(8)
        why = str(e)
    if why is not None:
        os.rmdir(mnt)
        pytest.skip(f"cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): {why}")
    yield mnt
    # Lazy: a server that outlived the test must not leave the mount behind.
    subprocess.run(["umount", "-l", mnt], capture_output=True, timeout=30)
    shutil.rmtree(mnt, ignore_errors=True)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def dir_bytes(path):
    return sum(e.stat().st_size for e in os.scandir(path) if e.is_file())


def fill(path, free_target):
    """Grows the filler file at `path` until less than `free_target` bytes are free on its file
    system (at least `free_target - 4096`); with 0, until ENOSPC."""
    d = os.path.dirname(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for chunk in (MiB, 4096):
            while free_bytes(d) >= free_target + chunk:
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
        while free_target == 0:
            try:
                os.write(fd, b"\0" * 4096)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)


def client(hosts, **kw):
    c = KazooClient(hosts=hosts, timeout=10.0,
                    connection_retry={"max_tries": 3, "delay": 0.1, "max_delay": 1},
                    command_retry={"max_tries": 0}, **kw)
    c.start(timeout=15)
    return c


def check_durable(hosts, acked, refused, counter=None, counter_version=None):
    """After a restart: every acknowledged node with its data, no refused one."""
    c = client(hosts)
    try:
        for path, data in acked.items():
            try:
                got, _ = c.get(path)
            except NoNodeError:
                pytest.fail(f"acknowledged {path} is missing after the restart")
            assert got == data, path
        for path in refused:
            assert c.exists(path) is None, f"refused {path} is present after the restart"
        if counter is not None:
            data, stat = c.get(counter)
            assert stat.version >= counter_version, (stat.version, counter_version)
            assert data == str(stat.version).encode()
    finally:
        stop(c)


def test_guard_refuses_writes_until_space_returns_and_nothing_is_lost(tmpfs, start_server):
    server = start_server("corral", {"dataDir": os.path.join(tmpfs, "data"),
                                     "minFreeDiskBytes": str(RESERVE),
                                     "snapCount": "100"})
    pid = server.proc.pid
    zk = client(server.hosts)
    acked, refused = {}, set()
    try:
        zk.create("/ctr", b"0")
        counter_version = 0
        for i in range(200):
            acked[f"/before-{i}"] = DATA
            zk.create(f"/before-{i}", DATA)
            if i % 10 == 0:
                counter_version = zk.set("/ctr", str(counter_version + 1).encode(),
                                         version=counter_version).version
        zk.create("/doomed", b"x")
        acked["/doomed"] = b"x"

        # Leave less than the reserve but plenty for the file system: the guard must trip.
        filler = os.path.join(tmpfs, "filler")
        fill(filler, RESERVE - 4 * MiB)
        assert free_bytes(tmpfs) < RESERVE - 3 * MiB
        deadline = time.monotonic() + GUARD_TIMEOUT_S
        i = 0
        while True:
            path = f"/racing-{i}"
            i += 1
            try:
                zk.create(path, DATA)
                acked[path] = DATA
            except SystemZookeeperError:
                refused.add(path)
                break
            assert time.monotonic() < deadline, \
                f"writes still accepted {GUARD_TIMEOUT_S}s after the disk went below the reserve"
        log_size = dir_bytes(os.path.join(tmpfs, "data", "log"))

        # Every kind of write is refused with SystemError...
        for n in range(20):
            refused.add(f"/refused-{n}")
            with pytest.raises(SystemZookeeperError):
                zk.create(f"/refused-{n}", DATA)
        refused.add("/refused-eph")
        with pytest.raises(SystemZookeeperError):
            zk.create("/refused-eph", b"", ephemeral=True)
        with pytest.raises(SystemZookeeperError):
            zk.set("/ctr", b"nope", version=counter_version)
        with pytest.raises(SystemZookeeperError):
            zk.delete("/doomed")
        t = zk.transaction()
        t.create("/refused-multi-a")
        t.set_data("/ctr", b"nope")
        refused.add("/refused-multi-a")
        with pytest.raises(SystemZookeeperError):
            t.commit()

        # Refused writes are not logged.
        assert dir_bytes(os.path.join(tmpfs, "data", "log")) - log_size < 4096

        # ...while reads go on, in this session and in a new one, and the server answers.
        data, stat = zk.get("/ctr")
        assert (data, stat.version) == (str(counter_version).encode(), counter_version)
        names = set(zk.get_children("/"))
        assert {p[1:] for p in acked} <= names
        assert not {p[1:] for p in refused} & names
        for path, data in list(acked.items())[::20]:
            assert zk.get(path)[0] == data
        reader = client(server.hosts)
        try:
            assert reader.get("/before-0")[0] == DATA
            assert reader.exists("/refused-0") is None
        finally:
            stop(reader)
        assert zkwire.four_letter(server.port, "ruok") == "imok"
        assert server.proc.poll() is None and server.proc.pid == pid
        assert "disk nearly full" in server.log()

        # Space returns: writes succeed again by themselves, without a restart.
        os.remove(filler)
        deadline = time.monotonic() + GUARD_TIMEOUT_S
        while True:
            try:
                zk.create("/after-0", DATA)
                acked["/after-0"] = DATA
                break
            except SystemZookeeperError:
                assert time.monotonic() < deadline, \
                    f"writes still refused {GUARD_TIMEOUT_S}s after space returned"
                time.sleep(0.05)
        for i in range(1, 100):
            zk.create(f"/after-{i}", DATA)
            acked[f"/after-{i}"] = DATA
        counter_version = zk.set("/ctr", str(counter_version + 1).encode(),
                                 version=counter_version).version
        zk.delete("/doomed")
        del acked["/doomed"]
        refused.add("/doomed")
        assert server.proc.pid == pid and server.proc.poll() is None
        assert "disk space is back" in server.log()
    finally:
        stop(zk)

    # Nothing on disk was damaged: after a crash, everything acknowledged is there.
    server.kill()
    server.restart()
    check_durable(server.hosts, acked, refused, "/ctr", counter_version)
    c = client(server.hosts)
    try:
        c.create("/after-restart")
    finally:
        stop(c)


def test_disk_full_past_the_guard_stops_the_server_with_a_message(tmpfs, start_server):
    """minFreeDiskBytes=0 and the disk filled to the last byte: the next log write fails with
    ENOSPC, which openraft treats as fatal."""
    server = start_server("corral", {"dataDir": os.path.join(tmpfs, "data"),
                                     "minFreeDiskBytes": "0",
                                     "snapCount": "100"})
    zk = client(server.hosts)
    acked = {}
    try:
        for i in range(150):
            zk.create(f"/before-{i}", DATA)
            acked[f"/before-{i}"] = DATA
        filler = os.path.join(tmpfs, "filler")
        fill(filler, 0)
        assert free_bytes(tmpfs) == 0

        # Writes until one is not answered: the file system has no free block, but the log
        # file's last page may still hold a record or two (tmpfs allocates whole pages), so
        # the first writes can succeed. The one whose append fails with ENOSPC is never
        # acknowledged, and the server must exit by itself, saying why.
        for i in range(MAX_WRITES_INTO_LAST_PAGE):
            if server.proc.poll() is not None:
                break
            try:
                zk.create_async(f"/too-much-{i}", DATA).get(timeout=EXIT_TIMEOUT_S)
                acked[f"/too-much-{i}"] = DATA
            except (ConnectionLoss, ConnectionClosedError, KazooTimeoutError):
                break
        else:
            pytest.fail(f"{MAX_WRITES_INTO_LAST_PAGE} writes fit on a full file system")
        deadline = time.monotonic() + EXIT_TIMEOUT_S
        while server.proc.poll() is None:
            assert time.monotonic() < deadline, \
                f"corral still running {EXIT_TIMEOUT_S}s after a log write failed with ENOSPC"
            time.sleep(0.05)
    finally:
        try:
            stop(zk)
        except Exception:  # noqa: BLE001 - the server is gone; the client may complain
            pass
    assert server.proc.returncode not in (0, None), server.proc.returncode
    log = server.log()
    assert "the raft log failed" in log and "No space left on device" in log, log[-3000:]

    # While the disk is still full, a restart stops at the log (which cuts off the torn
    # record) with a message, rather than serve.
    with pytest.raises(RuntimeError) as err:
        server.restart(timeout_s=EXIT_TIMEOUT_S)
    still_running = server.proc.poll() is None
    if still_running:
        server.kill()
    assert not still_running, f"a start on a full disk neither served nor exited: {err.value}"
    assert "cannot start" in str(err.value) and "No space left on device" in str(err.value), \
        str(err.value)[-3000:]

    # Space is back: the server starts cleanly and nothing acknowledged is lost.
    os.remove(filler)
    server.restart()
    check_durable(server.hosts, acked, refused=())
    c = client(server.hosts)
    try:
        c.create("/after-restart")
    finally:
        stop(c)
