"""Apache Curator 5 (Debian's jars) against the server under test: java/CuratorCheck.java is
compiled once per run into a temporary directory and run once per check, each against a fresh
server. The Java program prints `PASS <check>` or `FAIL <check>: <why>` and bounds its own waits;
RUN_TIMEOUT_S bounds the JVM as a whole."""

import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "java", "CuratorCheck.java")
JARS = "/usr/share/java"
# Curator's and ZooKeeper's manifests name the rest of what they load (jackson, jute, ...).
COMPILE_JARS = ("curator-framework", "curator-client", "curator-recipes", "zookeeper",
                "zookeeper-jute", "guava", "slf4j-api")
RUNTIME_JARS = COMPILE_JARS + ("slf4j-simple",)
JVM_FLAGS = ("-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
             "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
             "-Dorg.slf4j.simpleLogger.logFile=System.out")
COMPILE_TIMEOUT_S = 180
RUN_TIMEOUT_S = 240
CHECKS = ("leader_latch", "mutex", "curator_cache", "create_and_persistent_node", "transaction")


def classpath(names):
    return ":".join(os.path.join(JARS, f"{n}.jar") for n in names)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    missing = [n for n in RUNTIME_JARS if not os.path.exists(os.path.join(JARS, f"{n}.jar"))]
    if missing or not shutil.which("javac"):
        pytest.skip(f"javac or jars missing ({missing}); run tests/interop/install-deps.sh")
    out = tmp_path_factory.mktemp("curator-classes")
    r = subprocess.run(["javac", "-Xlint:all,-path", "-cp", classpath(COMPILE_JARS),
                        "-d", str(out), SOURCE],
                       capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    assert r.returncode == 0, f"javac failed:\n{r.stdout}\n{r.stderr}"
    return str(out)


@pytest.mark.parametrize("check", CHECKS)
def test_curator(compiled, server, check):
    cmd = ["java", *JVM_FLAGS, "-cp", f"{compiled}:{classpath(RUNTIME_JARS)}",
           "CuratorCheck", server.hosts, check]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    transcript = f"--- stdout ---\n{r.stdout[-12000:]}\n--- stderr ---\n{r.stderr[-4000:]}"
    assert r.returncode == 0, transcript
    assert f"PASS {check}" in r.stdout.splitlines(), transcript
