"""Bounded fault runs (run.py) against a three-member corral ensemble: every fault of the
nemesis, every workload, every check. A failure prints the seed, the fault schedule and the
ops that show each anomaly; `python3 tests/faults/run.py --seed N --seconds S` runs it again.

CORRAL_FAULT_SEEDS: comma-separated seeds (default 1,2,3); CORRAL_FAULT_SECONDS: the length
of each run (default 25)."""

import os

import pytest

import run
import servers

SEEDS = [int(s) for s in os.environ.get("CORRAL_FAULT_SEEDS", "1,2,3").split(",")]
SECONDS = float(os.environ.get("CORRAL_FAULT_SECONDS", "25"))

pytestmark = pytest.mark.skipif(servers.target_kind() != "corral",
                                reason="the fault suite drives corral ensembles")


@pytest.mark.parametrize("seed", SEEDS)
def test_no_anomaly_under_faults(seed):
    report = run.run(seed, SECONDS)
    print(report)
    assert not report.anomalies, str(report)
    assert report.checked["faults"] > 0, "the nemesis did nothing"
    assert report.counts["ok"] > 100, "the workloads did next to nothing"
