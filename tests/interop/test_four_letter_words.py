"""Four-letter words: the shapes Apache ZooKeeper 3.8 prints, which monitoring scripts parse.
Values that depend on timing (latencies, byte counts) are checked for form only."""

import re

import pytest

from zkwire import four_letter

HEX = r"0x[0-9a-f]+"
# A fresh ZooKeeper counts 5 znodes: "/", /zookeeper, /zookeeper/config, /zookeeper/quota,
# and the root a second time (its DataTree maps both "" and "/" to the root node).
FRESH_ZNODE_COUNT = 5


@pytest.fixture
def busy(make_client, event_log):
    """A session with one ephemeral, one data watch and one child watch."""
    zk = make_client()
    zk.create("/app", b"12345")
    zk.create("/app/e", ephemeral=True)
    zk.get("/app", watch=event_log())
    zk.get_children("/app", watch=event_log())
    return zk


def test_ruok_and_kazoo_helpers(server, zk):
    assert four_letter(server.port, "ruok") == "imok"
    assert zk.command(b"ruok") == "imok"
    version = zk.server_version()
    assert len(version) >= 2 and all(isinstance(v, int) for v in version)


def test_srvr(server, busy):
    out = four_letter(server.port, "srvr")
    lines = out.split("\n")
    assert lines[0].startswith("Zookeeper version: ")
    assert re.fullmatch(r"Latency min/avg/max: \d+/[\d.]+/\d+", lines[1])
    assert re.fullmatch(r"Received: \d+", lines[2]) and re.fullmatch(r"Sent: \d+", lines[3])
    assert re.fullmatch(r"Connections: \d+", lines[4])
    assert lines[5] == "Outstanding: 0"
    assert re.fullmatch(r"Zxid: " + HEX, lines[6])
    assert int(lines[6].split()[1], 16) == busy.last_zxid
    assert lines[7] == "Mode: standalone"
    assert lines[8] == f"Node count: {FRESH_ZNODE_COUNT + 2}"
    assert lines[9:] == [""]


def test_stat_lists_clients(server, busy):
    out = four_letter(server.port, "stat")
    lines = out.split("\n")
    assert lines[0].startswith("Zookeeper version: ")
    assert lines[1] == "Clients:"
    clients = [ln for ln in lines[2:] if ln.startswith(" /")]
    assert clients, out
    for ln in clients:
        assert re.fullmatch(r" /127\.0\.0\.1:\d+\[\d\]\(queued=\d+,recved=\d+,sent=\d+\)", ln), ln
    assert "Mode: standalone" in lines
    assert f"Node count: {FRESH_ZNODE_COUNT + 2}" in lines


def test_mntr(server, busy):
    out = four_letter(server.port, "mntr")
    assert out.endswith("\n")
    metrics = dict(line.split("\t", 1) for line in out.splitlines())
    assert list(metrics)[:2] == ["zk_version", "zk_server_state"]
    assert metrics["zk_server_state"] == "standalone"
    assert metrics["zk_znode_count"] == str(FRESH_ZNODE_COUNT + 2)
    assert metrics["zk_ephemerals_count"] == "1"
    assert metrics["zk_watch_count"] == "2"
    assert metrics["zk_outstanding_requests"] == "0"
    for key in ("zk_avg_latency", "zk_max_latency", "zk_min_latency", "zk_packets_received",
                "zk_packets_sent", "zk_num_alive_connections", "zk_approximate_data_size",
                "zk_open_file_descriptor_count", "zk_max_file_descriptor_count"):
        assert re.fullmatch(r"[\d.]+", metrics[key]), (key, metrics.get(key))


def test_conf(server):
    out = four_letter(server.port, "conf")
    conf = dict(line.split("=", 1) for line in out.splitlines())
    assert conf["clientPort"] == str(server.port)
    assert conf["tickTime"] == "2000"
    assert conf["maxClientCnxns"] == "0"
    assert (conf["minSessionTimeout"], conf["maxSessionTimeout"]) == ("4000", "40000")
    assert conf["serverId"] == "0"
    assert "dataDir" in conf


def test_cons(server, busy):
    out = four_letter(server.port, "cons")
    sid = f"0x{busy.client_id[0]:x}"
    mine = [ln for ln in out.splitlines() if f"sid={sid}," in ln]
    assert len(mine) == 1, out
    assert re.fullmatch(
        r" /127\.0\.0\.1:\d+\[1\]\(queued=\d+,recved=\d+,sent=\d+,sid=" + sid +
        r",lop=\w+,est=\d+,to=10000,lcxid=" + HEX + r",lzxid=" + HEX +
        r",lresp=\d+,llat=\d+,minlat=\d+,avglat=\d+,maxlat=\d+\)", mine[0]), mine[0]
    assert out.endswith("\n\n")


def test_envi(server):
    out = four_letter(server.port, "envi")
    lines = out.splitlines()
    assert lines[0] == "Environment:"
    env = dict(ln.split("=", 1) for ln in lines[1:])
    assert re.match(r"\d+\.\d+\.\d+", env["zookeeper.version"])
    assert "host.name" in env


def test_watch_words(server, busy):
    sid = f"0x{busy.client_id[0]:x}"
    # wchs counts data watches only (DataTree.getWatchesSummary), not child watches.
    assert four_letter(server.port, "wchs") == "1 connections watching 1 paths\nTotal watches:1\n"
    assert four_letter(server.port, "wchc") == f"{sid}\n\t/app\n\n"
    assert four_letter(server.port, "wchp") == f"/app\n\t{sid}\n\n"


def test_dump_and_isro(server, busy):
    out = four_letter(server.port, "dump")
    sid = f"0x{busy.client_id[0]:x}"
    assert out.startswith("SessionTracker dump:\n")
    assert f"ephemeral nodes dump:\nSessions with Ephemerals (1):\n{sid}:\n\t/app/e\n" in out
    assert four_letter(server.port, "isro") == "rw"


def test_unknown_word_closes_silently(server, zk):
    assert four_letter(server.port, "xxxx") == ""
    assert zk.exists("/zookeeper") is not None
