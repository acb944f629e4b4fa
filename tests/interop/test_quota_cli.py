"""zkCli.sh's setquota, listquota and delquota, through zkCli.sh itself and through `corral
cli`, against the same server (corral, or ZooKeeper with CORRAL_TEST_TARGET=zookeeper) with
`enforceQuota` on: every command's output must be equal once each client's prefix is
normalised (the comparison of test_corral_cli)."""

from test_corral_cli import (needs_corral, needs_zkcli, run_corral_piped, run_zkcli,
                             split_transcript, with_markers)

# `P` is each client's own prefix.
SCRIPT = """\
create P q
create P/a 12345
create P/a/b xy
setquota -n 5 P
listquota P
setquota -B 100 P
listquota P
get /zookeeper/quota/P/zookeeper_limits
get /zookeeper/quota/P/zookeeper_stats
get /zookeeper/quota/P
setquota -N 2 P/a
setquota P
setquota -n 1 -b 2 P
setquota -n 0 P
setquota -b -1 P
setquota -n x P
setquota -n 5 P/missing
setquota -n 5 /zookeeper/quota/x
setquota -n 1 P
setquota -b 1 P
setquota -B 9 P
create P/c 12345
set P/a 1234567890
set P/a 1
listquota P
listquota P/missing
delquota -n P
listquota P
delquota -b -n P
delquota P/missing
delquota P
listquota P
stat /zookeeper/quota/P
setquota -N 1 P/a/b
setquota -n 3 P
create P/a/b/c
delquota P/a/b
stat /zookeeper/quota/P
setquota -n 3 P
listquota P
delquota -B P
listquota P
"""


def script_lines(prefix):
    return [line.replace(" P", " " + prefix).replace("/P", prefix) for line in
            SCRIPT.splitlines()]


@needs_corral
@needs_zkcli
def test_quota_commands_match_zkcli(start_server):
    server = start_server(None, {"zookeeper.enforceQuota": "true"})
    lines = script_lines("/qzk")
    zk_out, _ = split_transcript(run_zkcli(server, with_markers(lines)), "/qzk", len(lines))
    rs_lines = script_lines("/qrs")
    rs_out, _ = split_transcript(run_corral_piped(server, with_markers(rs_lines)), "/qrs",
                                 len(rs_lines))
    for cmd, want, got in zip(SCRIPT.splitlines(), zk_out, rs_out):
        assert got == want, f"{cmd!r}: zkCli printed {want}, corral cli printed {got}"
    # What the script must have reached, so that silence on both sides is no pass.
    joined = [line for out in rs_out for line in out]
    assert "Output quota for /P count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1" in joined
    assert any(line.startswith("Quota has exceeded") for line in joined), joined
