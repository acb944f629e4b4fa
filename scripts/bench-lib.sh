# Helpers of the benchmark scripts (sourced; run from the repository root): their work
# directory, the machine header, the corral build, free ports, zoo.cfg, starting corral or
# Apache ZooKeeper 3.8 (Debian's package), waiting for a read.
# start_server runs "$BENCH" (the corral binary) for corral.

ZK_CLASSPATH="$(printf '/usr/share/java/%s.jar:' zookeeper zookeeper-jute slf4j-api slf4j-simple)"
ZK_CLASSPATH="${ZK_CLASSPATH%:}"

say() { printf '\n== %s\n' "$*"; }

# bench_workdir NAME: sets $work (BENCH_DIR, or a fresh /var/tmp/NAME.XXXXXX) and an empty
# $results file in it. On exit, kill -9 the servers the script started and has not stopped
# (its own jobs only), so that a failed step leaves nothing running.
bench_workdir() {
  work="${BENCH_DIR:-$(mktemp -d "/var/tmp/$1.XXXXXX")}"
  mkdir -p "$work"
  results="$work/results.txt"
  : >"$results"
  trap kill_jobs EXIT
}

kill_jobs() {
  for p in $(jobs -p); do kill -9 "$p" 2>/dev/null || true; done
}

# say_machine: what the numbers were measured on; the script adds its own lines after it.
say_machine() {
  say "machine"
  date -u
  nproc
  lscpu | grep -m1 'Model name' || true
  java -version 2>&1 | head -1
}

# build_corral: the release binary, time-limited; sets BENCH to it.
build_corral() {
  say "cargo build --release -j2"
  timeout 3600 cargo build --release -j2 --locked -p corral
  BENCH="$(pwd)/target/release/corral"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until a session's getData("/") succeeds on 127.0.0.1:$1, at most $2 seconds.
wait_read() {
  python3 - "$1" "$2" <<'EOF'
import socket, struct, sys, time
sys.path.insert(0, "tests/interop")
import zkwire
port, limit = int(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(zkwire.connect_request(10000))
            if zkwire.parse_connect_response(zkwire.read_frame(s, 2))["timeout_ms"] > 0:
                s.sendall(zkwire.request(1, zkwire.OP_GET_DATA, zkwire.path_watch_body("/")))
                _xid, _zxid, err = struct.unpack_from("!iqi", zkwire.read_frame(s, 5))
                s.sendall(zkwire.request(2, zkwire.OP_CLOSE_SESSION))
                if err == 0:
                    sys.exit(0)
    except (OSError, EOFError, struct.error):
        pass
    time.sleep(0.005)
sys.exit(f"no read served on port {port} within {limit} s")
EOF
}

write_cfg() { # dir port [extra zoo.cfg line]
  mkdir -p "$1/data"
  cat >"$1/zoo.cfg" <<EOF
tickTime=2000
dataDir=$1/data
clientPort=$2
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
${3:-}
EOF
}

# start_server KIND DIR PORT [extra zoo.cfg line]: starts corral or ZooKeeper (fsync on) and
# sets $server_pid. A restart reuses DIR's zoo.cfg.
start_server() {
  local kind="$1" dir="$2" port="$3"
  [ -f "$dir/zoo.cfg" ] || write_cfg "$dir" "$port" "${4:-}"
  if [ "$kind" = corral ]; then
    RUST_LOG=info "$BENCH" server --config "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 &
  else
    java -Xmx4g -Dzookeeper.forceSync=yes \
      -Dorg.slf4j.simpleLogger.defaultLogLevel=info -Dorg.slf4j.simpleLogger.showDateTime=true \
      -Dzookeeper.jmx.log4j.disable=true -Dzookeeper.admin.enableServer=false \
      -Dzookeeper.log.dir="$dir" -cp "$ZK_CLASSPATH" \
      org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 &
  fi
  server_pid=$!
}


# start_both DIR: corral in DIR/corral and ZooKeeper in DIR/zk on free ports, both serving
# reads; sets corral_port, zk_port, corral_pid and zk_pid.
start_both() {
  corral_port="$(free_port)"
  zk_port="$(free_port)"
  start_server corral "$1/corral" "$corral_port"
  corral_pid="$server_pid"
  start_server zookeeper "$1/zk" "$zk_port"
  zk_pid="$server_pid"
  wait_read "$corral_port" "$START_LIMIT"
  wait_read "$zk_port" "$START_LIMIT"
}

stop_both() {
  kill "$corral_pid" "$zk_pid"
  wait "$corral_pid" "$zk_pid" 2>/dev/null || true
}
