"""corral against Apache ZooKeeper 3.8, side by side: the driver of
scripts/bench-vs-zookeeper.sh (run by hand, never a test).

For each mode (standalone, a 3-member ensemble) it starts both servers on 127.0.0.1 with fsync
on (ZooKeeper from Debian's package, -Xmx4g, as bench-lib.sh), then runs every case of the
matrix alternately on corral and on ZooKeeper (A B A B ..., `--rounds` times) with
`corral bench`, each run bounded in time. Every run's JSON line goes to `--out` with its mode,
server kind and round; at the end it prints a Markdown table of medians and corral/ZooKeeper
ratios, and the issue's targets with their figures.

    python3 scripts/bench_compare.py --bench target/release/corral --dir /var/tmp/x \\
        --rounds 3 --duration 10 --warmup 2 --modes standalone,ensemble
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "interop"))
import ensemble  # noqa: E402
import servers  # noqa: E402

# (name, corral bench flags). Reads and writes at 64 sessions x 16 in flight, multi at
# 16 x 16, one client with one request in flight, and the fan-out, churn and election cases.
MATRIX = [
    ("create 64x16", "--workload create --clients 64 --depth 16"),
    ("set 64x16", "--workload set --clients 64 --depth 16"),
    ("get 64x16", "--workload get --clients 64 --depth 16"),
    ("exists 64x16", "--workload exists --clients 64 --depth 16"),
    ("children 64x16", "--workload children --clients 64 --depth 16"),
    ("mixed 64x16", "--workload mixed --clients 64 --depth 16"),
    ("multi 16x16", "--workload multi --clients 16 --depth 16"),
    ("ephemeral-seq 16x16", "--workload ephemeral-seq --clients 16 --depth 16"),
    ("get 1x1", "--workload get --clients 1 --depth 1"),
    ("set 1x1", "--workload set --clients 1 --depth 1"),
    ("watch 1000", "--workload watch --clients 1000"),
    ("churn 16", "--workload churn --clients 16"),
    ("election 10", "--workload election --contenders 10 --handoffs 40"),
]
# The targets: (case, figure, comparison, bound). ops: corral/ZK ops/s at least the
# bound; p50/p99: corral/ZK latency at most the bound.
TARGETS = [
    ("create 64x16", "ops", ">=", 2.0), ("create 64x16", "p99", "<=", 0.5),
    ("set 64x16", "ops", ">=", 2.0), ("set 64x16", "p99", "<=", 0.5),
    ("get 64x16", "ops", ">=", 1.5), ("exists 64x16", "ops", ">=", 1.5),
    ("children 64x16", "ops", ">=", 1.5), ("mixed 64x16", "ops", ">=", 1.5),
    ("multi 16x16", "ops", ">=", 3.0), ("multi 16x16", "p99", "<=", 0.2),
    ("get 1x1", "p50", "<=", 0.7), ("set 1x1", "p50", "<=", 1.0),
    ("election 10", "p50", "<=", 0.5),
]
RUN_SLACK_S = 180


class Standalone:
    """One server of `kind` in `workdir` on a free port of 127.0.0.1: `hosts`, `stop()`."""

    def __init__(self, kind, workdir, corral_bin):
        self.kind = kind
        os.makedirs(os.path.join(workdir, "data"), exist_ok=True)
        self.port = servers.free_port()
        self.hosts = f"127.0.0.1:{self.port}"
        cfg = os.path.join(workdir, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write(f"tickTime=2000\ndataDir={workdir}/data\nclientPort={self.port}\n"
                    "clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n"
                    "4lw.commands.whitelist=*\n")
        if kind == "corral":
            cmd = [corral_bin, "server", "--config", cfg]
        else:
            cmd = ["java", *ensemble.ZK_BENCH_JVM, "-Dzookeeper.jmx.log4j.disable=true",
                   "-Dzookeeper.admin.enableServer=false", f"-Dzookeeper.log.dir={workdir}",
                   "-cp", servers.ZK_CLASSPATH,
                   "org.apache.zookeeper.server.ZooKeeperServerMain", cfg]
        env = dict(os.environ, RUST_LOG="info")
        with open(os.path.join(workdir, "server.log"), "a") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         cwd=workdir)
        servers.wait_for_port(self.port, self.proc, 120)

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)


class Three:
    """A 3-member ensemble of `kind` (tests/interop/ensemble.py), fsync on."""

    def __init__(self, kind, workdir, corral_bin):
        self.kind = kind
        self.ens = ensemble.Ensemble(kind, 3, workdir=workdir, corral_bin=corral_bin,
                                     zk_jvm=ensemble.ZK_BENCH_JVM)
        self.ens.start(120)
        self.ens.wait_whole(120, converged=True)
        self.hosts = self.ens.hosts

    def pids(self):
        return [m.proc.pid for m in self.ens.members]

    def stop(self):
        self.ens.stop()


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
        except (OSError, StopIteration):
            pass
    return total


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def bench(bench_bin, hosts, flags, duration, warmup):
    """One `corral bench` run; its JSON line as a dict (None if it printed none), and the
    output."""
    election = "--workload election" in flags
    timing = ["--duration", str(max(duration * 6, 120))] if election else \
        ["--duration", str(duration), "--warmup", str(warmup)]
    cmd = [bench_bin, "bench", "--servers", hosts, *flags.split(), *timing]
    limit = (duration * 6 if election else duration + warmup) + RUN_SLACK_S
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
        out = p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        return None, f"(killed after {limit} s) {e.stdout or ''}"
    line = next((ln for ln in out.splitlines() if ln.startswith("{")), None)
    return (json.loads(line) if line else None), out


def figures(r):
    """(ops/s, p50 us, p99 us, p99.9 us, errors) of a bench JSON line, plain or election."""
    if r.get("workload") == "election":  # handoff latencies; max in the p99.9 column
        return 0.0, r["p50_us"], r["p99_us"], r["max_us"], r["errors"]
    return r["ops_per_s"], r["p50_us"], r["p99_us"], r["p999_us"], r["errors"]


def run_mode(a, mode, cases, out):
    kinds = ("corral", "zookeeper")
    started = {}
    make = Standalone if mode == "standalone" else Three
    try:
        for kind in kinds:
            d = os.path.join(a.dir, f"{mode}-{kind}")
            shutil.rmtree(d, ignore_errors=True)
            started[kind] = make(kind, d, a.bench)
        for name, flags in cases:
            for rnd in range(1, a.rounds + 1):
                for kind in kinds:
                    srv = started[kind]
                    load = loadavg()
                    r, text = bench(a.bench, srv.hosts, flags, a.duration, a.warmup)
                    if r is None:
                        print(f"-- {mode} {name} round {rnd} {kind}: no result\n{text}",
                              flush=True)
                        continue
                    ops, p50, p99, p999, errs = figures(r)
                    print(f"-- {mode} {name} round {rnd} {kind}: {ops:.0f} ops/s, p50 "
                          f"{p50 / 1000:.2f} p99 {p99 / 1000:.2f} p99.9 {p999 / 1000:.2f} ms, "
                          f"{errs} errors (load before {load}; RSS {rss_kib(srv.pids())} KiB)",
                          flush=True)
                    out.write(json.dumps({"mode": mode, "case": name, "kind": kind,
                                          "round": rnd, "load": load, "result": r}) + "\n")
                    out.flush()
    finally:
        for srv in started.values():
            srv.stop()


def report(path):
    runs = {}
    for line in open(path):
        row = json.loads(line)
        runs.setdefault((row["mode"], row["case"]), {}).setdefault(row["kind"], []).append(
            figures(row["result"]))
    med = {}
    print("| mode | case | corral ops/s | ZooKeeper ops/s | ops/s corral/ZK "
          "| corral p50 / p99 / p99.9 ms | ZooKeeper p50 / p99 / p99.9 ms "
          "| p50 corral/ZK | p99 corral/ZK | errors (corral, ZK) | rounds |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (mode, case), by in runs.items():
        a, b = by.get("corral", []), by.get("zookeeper", [])
        if not a or not b:
            continue
        ma = [statistics.median(x[i] for x in a) for i in range(4)]
        mb = [statistics.median(x[i] for x in b) for i in range(4)]
        ratio = [ma[i] / mb[i] if mb[i] else float("nan") for i in range(4)]
        med[(mode, case)] = {"ops": ratio[0], "p50": ratio[1], "p99": ratio[2]}
        lat = lambda m: " / ".join(f"{m[i] / 1000:.2f}" for i in (1, 2, 3))  # noqa: E731
        ops = lambda m: f"{m[0]:.0f}" if m[0] else "-"  # noqa: E731
        print(f"| {mode} | {case} | {ops(ma)} | {ops(mb)} | "
              f"{f'{ratio[0]:.2f}' if ma[0] else '-'} | {lat(ma)} | {lat(mb)} | "
              f"{ratio[1]:.2f} | {ratio[2]:.2f} | {sum(x[4] for x in a)}, "
              f"{sum(x[4] for x in b)} | {len(a)}, {len(b)} |")
    print()
    print("| mode | target | figure | met |")
    print("|---|---|---:|---|")
    for mode in ("standalone", "ensemble"):
        for case, fig, cmp, bound in TARGETS:
            r = med.get((mode, case))
            if r is None:
                continue
            v = r[fig]
            met = v >= bound if cmp == ">=" else v <= bound
            what = "ops/s" if fig == "ops" else fig
            print(f"| {mode} | {case}: {what} corral/ZK {cmp} {bound} | {v:.2f} | "
                  f"{'yes' if met else 'NO'} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", default=servers.CORRAL_BIN, help="the corral binary")
    ap.add_argument("--dir", required=True, help="data, logs and results.jsonl")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--modes", default="standalone,ensemble")
    ap.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--report-only", action="store_true",
                    help="print the tables of an earlier run's results.jsonl")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    results = os.path.join(a.dir, "results.jsonl")
    if not a.report_only:
        wanted = [c.strip() for c in a.cases.split(",") if c.strip()]
        cases = [(n, f) for n, f in MATRIX if not wanted or n in wanted]
        with open(results, "a") as out:
            for mode in a.modes.split(","):
                run_mode(a, mode.strip(), cases, out)
    report(results)


if __name__ == "__main__":
    main()
