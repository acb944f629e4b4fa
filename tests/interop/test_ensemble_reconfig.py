"""Dynamic reconfiguration (`reconfig`, reconfigEnabled=true) of a running ensemble with
kazoo and zkCli.sh: remove a member and add it back, add a new member, refusals (no
permission, a stale config version), and `/zookeeper/config` (zkCli's `config`) showing the
membership on every member. The same
tests run against Apache ZooKeeper 3.8 (CORRAL_TEST_TARGET=zookeeper)."""

import os
import shutil
import sys
from types import SimpleNamespace

import pytest
from kazoo.exceptions import BadVersionError, NoAuthError
from kazoo.security import make_digest_acl

sys.path.insert(0, os.path.dirname(__file__))

import ensemble  # noqa: E402
from test_ensemble import FAILOVER_S, await_until, client, write_until_acked  # noqa: E402,F401
from test_zkcli import ZKCLI, ZkCli  # noqa: E402

SUPER_ID = make_digest_acl("super", "secret").id.id
RECONFIG_CFG = {
    "reconfigEnabled": "true",
    "zookeeper.DigestAuthenticationProvider.superDigest": SUPER_ID,
}
# From a reconfig's answer to every member showing the new configuration.
CONFIG_SPREAD_S = 20.0


def server_ids(config_text):
    """The ids of the `server.N=` lines of a /zookeeper/config text."""
    return sorted(int(line.split("=", 1)[0][len("server."):])
                  for line in config_text.splitlines() if line.startswith("server."))


def config_on(client, member):
    """/zookeeper/config as `member` has it after a sync."""
    c = client(member.host)
    try:
        c.sync("/zookeeper/config")
        return c.get("/zookeeper/config")[0].decode()
    finally:
        c.stop()


def superuser(client, hosts):
    c = client(hosts)
    c.add_auth("digest", "super:secret")
    return c


def test_reconfig_removes_a_member_and_adds_it_back(start_ensemble, client):
    ens = start_ensemble(voters=3, extra_cfg=RECONFIG_CFG)
    leader = ens.leader(FAILOVER_S)
    gone = next(m for m in ens.members if m is not leader)
    stays = [m for m in ens.members if m is not gone]
    admin = superuser(client, ",".join(m.host for m in stays))

    data, stat = admin.reconfig(joining=None, leaving=str(gone.id), new_members=None)
    assert server_ids(data.decode()) == sorted(m.id for m in stays)
    assert "version=" in data.decode()
    for m in stays:
        await_until(lambda m=m: server_ids(config_on(client, m)) == sorted(x.id for x in stays),
                    CONFIG_SPREAD_S, f"member {m.id} shows the configuration without {gone.id}")
    # Two members are a quorum of the new configuration: writes go on without the removed one.
    write_until_acked(admin, "/after-remove", FAILOVER_S)

    data, stat = admin.reconfig(joining=gone.server_line(), leaving=None, new_members=None)
    assert server_ids(data.decode()) == sorted(m.id for m in ens.members)
    await_until(lambda: gone.mode() == "follower", FAILOVER_S,
                f"member {gone.id} follows again once added back")
    c = client(gone.host)
    c.sync("/")
    assert c.exists("/after-remove") is not None


def test_reconfig_adds_a_new_member(start_ensemble, client):
    ens = start_ensemble(voters=3, extra_cfg=RECONFIG_CFG)
    ens.leader(FAILOVER_S)
    admin = superuser(client, ens.hosts)
    admin.create("/before-join", b"x")
    joiner = ensemble.Member(ens, 4, observer=False, net=ensemble.LOOPBACK)
    ens.members.append(joiner)
    joiner.write_config([m.server_line() for m in ens.members], ens.extra_cfg)
    joiner.spawn()

    data, _ = admin.reconfig(joining=joiner.server_line(), leaving=None, new_members=None)
    assert server_ids(data.decode()) == [1, 2, 3, 4]
    await_until(lambda: joiner.mode() == "follower", FAILOVER_S, "the new member follows")
    c = client(joiner.host)
    assert c.exists("/before-join") is not None
    c.create("/through-joiner", b"y")
    assert admin.exists("/through-joiner") is not None


def test_reconfig_needs_permission_and_the_current_version(start_ensemble, client):
    ens = start_ensemble(voters=3, extra_cfg=RECONFIG_CFG)
    leader = ens.leader(FAILOVER_S)
    other = next(m for m in ens.members if m is not leader)
    anybody = client(ens.hosts)
    with pytest.raises(NoAuthError):
        anybody.reconfig(joining=None, leaving=str(other.id), new_members=None)
    admin = superuser(client, ens.hosts)
    with pytest.raises(BadVersionError):
        admin.reconfig(joining=None, leaving=str(other.id), new_members=None,
                       from_config=0x7777)
    # Nothing changed: every member still answers as part of a three-member ensemble.
    assert sorted(ens.modes().values()) == ["follower", "follower", "leader"]


@pytest.mark.skipif(not os.path.exists(ZKCLI) or not shutil.which("java"),
                    reason="zkCli.sh (Debian package zookeeper) is not installed")
def test_zkcli_config_and_incremental_reconfig(start_ensemble):
    ens = start_ensemble(voters=3, extra_cfg=RECONFIG_CFG)
    leader = ens.leader(FAILOVER_S)
    gone = next(m for m in ens.members if m is not leader)
    stays = sorted(m.id for m in ens.members if m is not gone)
    # Connected to members that stay, so the shell's session is not on the one removed.
    cli = ZkCli(SimpleNamespace(hosts=",".join(ens.member(i).host for i in stays)))
    try:
        # The configuration is in /zookeeper/config from the start, before any reconfig.
        assert server_ids("\n".join(cli.run("config"))) == [1, 2, 3]
        cli.run("addauth digest super:secret")
        removed = cli.run(f"reconfig -remove {gone.id}")
        assert server_ids("\n".join(removed)) == stays, removed
        added = cli.run(f"reconfig -add {gone.server_line()}")
        assert server_ids("\n".join(added)) == [1, 2, 3], added
        assert server_ids("\n".join(cli.run("config"))) == [1, 2, 3]
    finally:
        cli.quit()
