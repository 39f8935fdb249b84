#!/usr/bin/env bash
# bench/run.sh: mla-gateway side by side with nginx, Kubermatic's nginx (the anchor) and HAProxy,
# on one machine, in one run (GitHub issue 5). See bench/README.md.
#
#   bash bench/run.sh [--quick] [--only P1,P3,...] [--systems mla-gateway,nginx,...]
#                     [--sink read|discard] [--no-netns] [--keep]
#
#   --quick      a smoke version, ~2 minutes (1 s per measurement, 300 instead of 10,000 connections)
#   --only       goals to run: P1..P7, H2 (the P1 load over HTTP/2) and AB (the ApacheBench
#                cross-check); default all
#   --systems    systems to run (default mla-gateway,nginx,nginx-kkp,haproxy)
#   --sink       read: the sink reads each whole body before answering 204 (default when
#                nginx's echo module is installed); discard: plain `return 204;`
#   --no-netns   stay in the host's network namespace (default: a private one, see below)
#   --keep       keep the temporary run directory (rendered configs, logs) and print its path
#
# What it does: starts the sink (nginx answering 204) on CPU 1, then for every row of the matrix
# starts the system under test (SUT) pinned to CPU 0 with one worker, checks it (one request
# must reach the sink with X-Scope-OrgID taken from the certificate), runs the load generator
# on CPU 1, samples CPU time and RSS of SUT, sink and load generator from /proc (whole process
# trees), and stops the SUT. Rows go to bench/results/<UTC time>/<row>.json; at the end
# bench/report.py writes bench/results/latest.json and the tables in bench/RESULTS.md.
#
# Everything listens on 127.0.0.1 only. By default the script re-executes itself in a private
# network namespace (`unshare --net`, needs root): its own loopback, so no port can collide with
# anything else on the machine and the TCP counters (/proc/net/netstat: delayed ACKs, listen
# overflows) recorded with every row are ours alone. It never touches a system nginx or HAProxy:
# each runs from its own rendered config, prefix and pid file in a temporary directory.
# Every process it starts is recorded by PID and stopped on exit (TERM, then KILL after 5 s);
# every wait is bounded, and the whole matrix is bounded by a time budget (MLA_BENCH_BUDGET,
# default 560 s; a row is cut off 20 s past it): a row that would not fit is skipped and noted.
#
# Inputs (environment, all optional): MLA_GATEWAY_BIN, MLA_LOADGEN_BIN, MLA_PHYSICAL_LIMIT_BIN
# (default: build/bin/..., then build-loadgen/bin/..., build-bench/bin/...), MLA_BENCH_BUDGET.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(dirname "$BENCH")
# The interpreter itself, not a version-manager shim (a pyenv shim costs ~0.5 s per start).
PY=$(python3 -c 'import sys; print(sys.executable)')
ORIG_ARGS=("$@")
SHOWN_ARGS=()  # the command line as the user typed it (without the internal --in-netns)
for a in "$@"; do [[ $a != --in-netns ]] && SHOWN_ARGS+=("$a"); done

QUICK=0 ONLY="" SYSTEMS="mla-gateway,nginx,nginx-kkp,haproxy" SINK_MODE=auto NETNS=auto KEEP=0
IN_NETNS=0
usage() { sed -n '2,15p' "$BENCH/run.sh" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    --quick) QUICK=1 ;;
    --only) ONLY=${2:?--only needs a list}; shift ;;
    --only=*) ONLY=${1#*=} ;;
    --systems) SYSTEMS=${2:?--systems needs a list}; shift ;;
    --systems=*) SYSTEMS=${1#*=} ;;
    --sink) SINK_MODE=${2:?--sink needs read or discard}; shift ;;
    --sink=*) SINK_MODE=${1#*=} ;;
    --no-netns) NETNS=no ;;
    --in-netns) IN_NETNS=1 ;;  # internal: we are the re-executed copy
    --keep) KEEP=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

# --- private network namespace ---------------------------------------------------------------
NETNS_NOTE=""
if [[ $NETNS != no && $IN_NETNS == 0 ]]; then
  if command -v unshare >/dev/null && command -v ip >/dev/null && unshare --net true 2>/dev/null; then
    exec unshare --net -- bash "$BENCH/run.sh" --in-netns "${ORIG_ARGS[@]}"
  fi
  NETNS_NOTE="no private network namespace (unshare --net failed): ran on the host's loopback"
fi
if ((IN_NETNS)); then
  ip link set lo up
  NETWORK="private network namespace (unshare --net), loopback MTU $(cat /sys/class/net/lo/mtu)"
else
  NETWORK="host network namespace, loopback"
fi

# --- parameters --------------------------------------------------------------------------------
START_EPOCH=$(date +%s)
BUDGET=${MLA_BENCH_BUDGET:-560}  # seconds for the whole matrix (the issue allows 10 minutes)
# SETTLE_MAX: P4 waits at most this long for the SUT to finish the handshakes before measuring.
SETTLE_MAX=20
# DUR: measured seconds per row; WARM: warm-up (mla-loadgen --warmup syntax); HOLD: seconds P4
# holds its connections; CONNECT_ALLOW: extra seconds allowed for opening 10,000 connections.
if ((QUICK)); then
  DUR=1 WARM=500ms IDLE_N=300 TENANTS=300 P6_CONNS=300 HOLD=2 CONNECT_ALLOW=20
else
  DUR=10 WARM=1s IDLE_N=10000 TENANTS=10000 P6_CONNS=10000 HOLD=4 CONNECT_ALLOW=60
fi
CONNS=64  # P1/P2/P3/P5/P7 and ab: 64 keep-alive connections
# H2: the P1 load over HTTP/2, as an HTTP/2 client sends it: 8 connections × 8 concurrent
# streams, so 64 requests in flight as in P1.
H2_CONNS=8 H2_STREAMS=8

# Ask for the hard fd limit (20,000 here): P4/P6 hold 10,000 connections in the SUT and in the
# load generator. HAProxy checks for 2 fds per connection at start-up (haproxy.cfg.in).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
[[ $NOFILE == unlimited ]] && NOFILE=1048576
HAPROXY_MAXCONN=$(((NOFILE - 100) / 2))
((HAPROXY_MAXCONN > 12000)) && HAPROXY_MAXCONN=12000

first_executable() {
  local f
  for f in "$@"; do
    if [[ -n $f && -x $f && -f $f ]]; then
      echo "$f"
      return 0
    fi
  done
  return 1
}
# From a fresh checkout the tools are built first (Release, build/; a no-op when up to date).
# MLA_BENCH_NO_BUILD=1 skips this, e.g. to measure binaries given by MLA_*_BIN.
if [[ -z ${MLA_BENCH_NO_BUILD:-} ]]; then
  bash "$SRC/scripts/build.sh" release mla-gateway mla-loadgen mla-physical-limit >&2 ||
    { echo "run.sh: building the benchmark tools failed" >&2; exit 1; }
  export MLA_BENCH_NO_BUILD=1  # a re-run inside the network namespace does not build again
fi
GATEWAY_BIN=$(first_executable "${MLA_GATEWAY_BIN:-}" "$SRC/build/bin/mla-gateway") || GATEWAY_BIN=""
LOADGEN_BIN=$(first_executable "${MLA_LOADGEN_BIN:-}" "$SRC/build/bin/mla-loadgen" \
  "$SRC/build-loadgen/bin/mla-loadgen") || LOADGEN_BIN=""
PHYS_BIN=$(first_executable "${MLA_PHYSICAL_LIMIT_BIN:-}" "$SRC/build/bin/mla-physical-limit" \
  "$SRC/build-loadgen/bin/mla-physical-limit" "$SRC/build-bench/bin/mla-physical-limit") || PHYS_BIN=""
NGINX_BIN=$(command -v nginx || true)
HAPROXY_BIN=$(command -v haproxy || true)
AB_BIN=$(command -v ab || true)
ECHO_MODULE=/usr/lib/nginx/modules/ngx_http_echo_module.so

TS=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$BENCH/results/$TS
mkdir -p "$RESULTS/raw" "$RESULTS/configs" "$RESULTS/logs"
RUN=$(mktemp -d /tmp/mla-bench.XXXXXX)
# Started as root, nginx runs its workers as `nobody`: they must reach the run directory and
# write their temp directories (nginx-kkp buffers bodies over 16 KiB to files, as shipped).
chmod 755 "$RUN"
NOTES=$RESULTS/notes.txt
: >"$NOTES"
[[ -n $NETNS_NOTE ]] && echo "$NETNS_NOTE" >>"$NOTES"

log() { printf '[%4ds] %s\n' "$(($(date +%s) - START_EPOCH))" "$*" >&2; }
note() {
  log "NOTE: $*"
  printf '%s\n' "$*" >>"$NOTES"
}

# --- process bookkeeping -----------------------------------------------------------------------
PIDS=()  # every process we started and have not stopped yet

# start_proc CPU LOGFILE CMD...: start CMD pinned to CPU in the background; PID in $LAST_PID.
start_proc() {
  local cpu=$1 logfile=$2
  shift 2
  taskset -c "$cpu" "$@" >"$logfile" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

alive() { [[ -e /proc/$1 ]] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }

# stop_proc PID: TERM, up to 5 s for it to exit, then KILL. Only ever PIDs we started.
stop_proc() {
  local pid=$1 i
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "PID $pid did not stop within 5 s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

# forget_pid PID: drop a PID we have already waited for from the list.
forget_pid() {
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p != "$1" ]] && keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

cleanup() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_proc "${PIDS[i]}"; done
  if ((KEEP)); then
    log "run directory kept: $RUN"
  else
    rm -rf -- "$RUN"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

elapsed() { echo $(($(date +%s) - START_EPOCH)); }
# fits SECONDS: is there time left in the budget for a row of about SECONDS?
fits() { (($(elapsed) + $1 <= BUDGET)); }

# cap_to_budget SECONDS: SECONDS, but no later than 20 s past the budget (a hard stop per row).
cap_to_budget() {
  local left=$((BUDGET + 20 - $(elapsed)))
  echo $(($1 < left ? $1 : left))
}

in_list() { [[ ",$2," == *",$1,"* ]]; }
want_goal() { [[ -z $ONLY ]] || in_list "$1" "$ONLY"; }
want_system() { in_list "$1" "$SYSTEMS"; }

# render TEMPLATE OUT KEY=VALUE...: replace @KEY@ placeholders; fail on any left over.
render() {
  "$PY" - "$@" <<'PY'
import re, sys
template, out, *pairs = sys.argv[1:]
text = open(template, encoding="utf-8").read()
for pair in pairs:
    key, value = pair.split("=", 1)
    text = text.replace("@" + key + "@", value)
left = sorted(set(re.findall(r"@[A-Z_]+@", text)))
if left:
    sys.exit(f"render {template}: placeholders left: {' '.join(left)}")
open(out, "w", encoding="utf-8").write(text)
PY
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- PKI ----------------------------------------------------------------------------------------
log "results: $RESULTS"
bash "$BENCH/pki.sh" "$RUN/pki" >"$RUN/pki.log" 2>&1 || {
  cat "$RUN/pki.log" >&2
  exit 1
}
# shellcheck source=/dev/null
source "$RUN/pki/paths.env"  # CA_CERT CA_KEY SERVER_CERT SERVER_KEY CLIENT_CERT CLIENT_KEY CLIENT_PEM
cat "$SERVER_CERT" "$SERVER_KEY" >"$RUN/pki/haproxy-server.pem"
printf '\0' >"$RUN/empty.snappy"  # a valid, empty remote-write / Loki body (snappy of 0 bytes)
head -c 262144 /dev/urandom >"$RUN/random-256k.bin"

# --- the sink -----------------------------------------------------------------------------------
SINK_PID="" SINK_PORT=""
start_sink() {
  local dir=$RUN/sink load="" body
  mkdir -p "$dir/sink-tmp"
  chmod 1777 "$dir/sink-tmp"
  if [[ $SINK_MODE == auto ]]; then
    if [[ -f $ECHO_MODULE ]]; then SINK_MODE="read"; else SINK_MODE="discard"; fi
  fi
  if [[ $SINK_MODE == read && ! -f $ECHO_MODULE ]]; then
    note "sink: nginx echo module ($ECHO_MODULE, Debian libnginx-mod-http-echo) missing: sink discards bodies (return 204) instead of reading them"
    SINK_MODE=discard
  fi
  if [[ $SINK_MODE == read ]]; then
    load="load_module $ECHO_MODULE;"
    body="      echo_read_request_body;   # read the whole body into memory first
      echo_status 204;"
  else
    body="      return 204;"
  fi
  SINK_PORT=$(free_port)
  render "$BENCH/peers/sink.nginx.conf.in" "$dir/sink.conf" "RUN_DIR=$dir" "SINK_PORT=$SINK_PORT" \
    "SINK_LOAD_MODULE=$load" "SINK_BODY_MODE=$SINK_MODE" "SINK_BODY=$body"
  cp "$dir/sink.conf" "$RESULTS/configs/"
  "$NGINX_BIN" -t -q -c "$dir/sink.conf" -p "$dir" -g 'daemon off;'
  start_proc 1 "$dir/sink.out" "$NGINX_BIN" -c "$dir/sink.conf" -p "$dir" -g 'daemon off;'
  SINK_PID=$LAST_PID
  local i code
  for ((i = 0; i < 50; i++)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 --data-binary @"$RUN/empty.snappy" \
      "http://127.0.0.1:$SINK_PORT/api/v1/push" || true)
    [[ $code == 204 ]] && break
    sleep 0.1
  done
  [[ $code == 204 ]] || {
    cat "$dir/sink.out" "$dir/sink.error.log" >&2 2>/dev/null || true
    echo "run.sh: the sink did not answer 204" >&2
    exit 1
  }
  log "sink: nginx on CPU 1, 127.0.0.1:$SINK_PORT, body mode $SINK_MODE (PID $SINK_PID)"
}

# --- systems under test -------------------------------------------------------------------------
SUT_PID="" SUT_PORT="" SUT_DIR="" SUT_CMD=""
system_available() {
  case $1 in
    mla-gateway) [[ -n $GATEWAY_BIN ]] ;;
    nginx | nginx-kkp) [[ -n $NGINX_BIN ]] ;;
    haproxy) [[ -n $HAPROXY_BIN ]] ;;
    *) return 1 ;;
  esac
}

# preflight PATH SCAN PROTOCOL: one request through the SUT must reach the sink (204) with
# X-Scope-OrgID taken from the client certificate (tenant-a), not the spoofed value the client
# sends. Where nothing inspects the body (SCAN false) it is 256 KiB of random bytes, so that body
# buffering (temp files, buffer sizes) is exercised too; otherwise a valid empty body. PROTOCOL
# h2: the request must also have been carried by HTTP/2 (curl's ALPN offers h2 first).
preflight() {
  local path=$1 scan=$2 protocol=$3 code seen version encoding=() body=$RUN/empty.snappy
  [[ $path == /api/* ]] && encoding=(-H 'Content-Encoding: snappy')
  [[ $scan == false ]] && body=$RUN/random-256k.bin
  local http=(--http1.1)
  [[ $protocol == h2 ]] && http=(--http2)
  read -r code version < <(curl -sS --max-time 3 "${http[@]}" --cacert "$CA_CERT" \
    --cert "$CLIENT_CERT" --key "$CLIENT_KEY" \
    -H 'X-Scope-OrgID: spoofed' -H 'Content-Type: application/x-protobuf' "${encoding[@]}" \
    --data-binary @"$body" -D "$SUT_DIR/preflight.headers" -o /dev/null \
    -w '%{http_code} %{http_version}\n' "https://127.0.0.1:$SUT_PORT$path" \
    2>>"$SUT_DIR/preflight.err" || true) || true
  seen=$(tr -d '\r' <"$SUT_DIR/preflight.headers" 2>/dev/null |
    awk -F': ' 'tolower($1)=="x-sink-scope-orgid"{print $2}')
  PREFLIGHT="status=${code:-none} http_version=${version:-none} tenant_at_sink=${seen:-none}"
  [[ $code == 204 && $seen == tenant-a ]] || return 1
  [[ $protocol != h2 || $version == 2 ]]
}

# start_sut SYSTEM ROW SCAN PATH [PROTOCOL]: render, check and start SYSTEM on CPU 0; wait until
# a request passes preflight (at most 10 s). Returns 1 (with a note) if it does not come up.
# PROTOCOL h2 (default http/1.1) turns HTTP/2 on: mla-gateway `server.http2: true`, nginx
# `listen ... ssl http2`, HAProxy `alpn h2,http/1.1` (each keeps HTTP/1.1 to the sink).
start_sut() {
  local system=$1 row=$2 scan=$3 path=$4 protocol=${5:-http/1.1} conf i
  SUT_DIR=$RUN/$row
  mkdir -p "$SUT_DIR"
  SUT_PORT=$(free_port)
  local common=("RUN_DIR=$SUT_DIR" "PORT=$SUT_PORT" "SINK_PORT=$SINK_PORT" "CA_CERT=$CA_CERT"
    "SERVER_CERT=$SERVER_CERT" "SERVER_KEY=$SERVER_KEY")
  local gateway_http2=false nginx_http2="" haproxy_alpn=http/1.1
  if [[ $protocol == h2 ]]; then
    gateway_http2=true nginx_http2="http2 " haproxy_alpn=h2,http/1.1
  fi
  case $system in
    mla-gateway)
      conf=$SUT_DIR/mla-gateway.yaml
      render "$BENCH/peers/mla-gateway.yaml.in" "$conf" "${common[@]}" "SCAN=$scan" \
        "HTTP2=$gateway_http2"
      "$GATEWAY_BIN" --config.file="$conf" --check-config >"$SUT_DIR/check.log" 2>&1 || {
        note "$row: mla-gateway --check-config failed: $(tail -n 3 "$SUT_DIR/check.log" | tr '\n' ' ')"
        return 1
      }
      SUT_CMD="$GATEWAY_BIN --config.file=$conf --log.level=warn"
      start_proc 0 "$SUT_DIR/sut.log" "$GATEWAY_BIN" --config.file="$conf" --log.level=warn
      ;;
    nginx | nginx-kkp)
      conf=$SUT_DIR/$system.conf
      mkdir -p "$SUT_DIR/nginx-tmp" "$SUT_DIR/nginx-kkp-tmp"
      chmod 1777 "$SUT_DIR/nginx-tmp" "$SUT_DIR/nginx-kkp-tmp"
      if [[ $system == nginx ]]; then
        render "$BENCH/peers/nginx.conf.in" "$conf" "${common[@]}" "HTTP2=$nginx_http2"
      else
        render "$BENCH/peers/nginx-kkp.conf.in" "$conf" "${common[@]}" "TENANT=tenant-a"
      fi
      "$NGINX_BIN" -t -q -c "$conf" -p "$SUT_DIR" -g 'daemon off;' >"$SUT_DIR/check.log" 2>&1 || {
        note "$row: nginx -t failed: $(tail -n 3 "$SUT_DIR/check.log" | tr '\n' ' ')"
        return 1
      }
      SUT_CMD="$NGINX_BIN -c $conf -p $SUT_DIR -g 'daemon off;'"
      start_proc 0 "$SUT_DIR/sut.log" "$NGINX_BIN" -c "$conf" -p "$SUT_DIR" -g 'daemon off;'
      ;;
    haproxy)
      conf=$SUT_DIR/haproxy.cfg
      render "$BENCH/peers/haproxy.cfg.in" "$conf" "${common[@]}" "HAPROXY_MAXCONN=$HAPROXY_MAXCONN" \
        "ALPN=$haproxy_alpn"
      cp "$RUN/pki/haproxy-server.pem" "$SUT_DIR/haproxy-server.pem"
      "$HAPROXY_BIN" -c -q -f "$conf" >"$SUT_DIR/check.log" 2>&1 || {
        note "$row: haproxy -c failed: $(tail -n 3 "$SUT_DIR/check.log" | tr '\n' ' ')"
        return 1
      }
      SUT_CMD="$HAPROXY_BIN -f $conf -db"
      start_proc 0 "$SUT_DIR/sut.log" "$HAPROXY_BIN" -f "$conf" -db
      ;;
  esac
  SUT_PID=$LAST_PID
  cp "$conf" "$RESULTS/configs/$row.${conf##*.}"
  for ((i = 0; i < 100; i++)); do
    if ! alive "$SUT_PID"; then
      note "$row: $system exited at start-up: $(tail -n 3 "$SUT_DIR/sut.log" | tr '\n' ' ')"
      stop_proc "$SUT_PID"
      return 1
    fi
    preflight "$path" "$scan" "$protocol" && return 0
    sleep 0.1
  done
  note "$row: $system failed the pre-flight request on $path ($PREFLIGHT)"
  stop_sut
  return 1
}

# stop_sut: stop it and keep its logs; count nginx's "buffered to a temporary file" warnings.
stop_sut() {
  [[ -n $SUT_PID ]] || return 0
  stop_proc "$SUT_PID"
  SUT_PID=""
  local f
  for f in "$SUT_DIR"/*.log; do
    [[ -s $f && $f != *access.log && $f != *check.log ]] &&
      cp "$f" "$RESULTS/logs/$(basename "$SUT_DIR").$(basename "$f")"
  done
  return 0
}

temp_file_warnings() {
  cat "$SUT_DIR"/*error.log 2>/dev/null | grep -c 'buffered to a temporary file' || true
}

# --- one measured row ---------------------------------------------------------------------------
# row_json ROW GOAL SYSTEM TOOL [report.py row options...]
row_json() {
  local row=$1 goal=$2 system=$3 tool=$4
  shift 4
  "$PY" "$BENCH/report.py" row --out "$RESULTS/$row.json" --id "$row" --goal "$goal" \
    --system "$system" --tool "$tool" "$@" || note "$row: report.py row failed"
  "$PY" - "$RESULTS/$row.json" >&2 <<'PY' || true
import json, sys
r = json.load(open(sys.argv[1])); d = r.get("derived", {})
parts = [f"{k}={d[k]:,.1f}" for k in ("requests_per_second", "requests_per_core", "handshakes_per_second",
         "mb_per_second", "p99_ms", "kib_per_connection", "sut_cores", "loadgen_cores") if isinstance(d.get(k), (int, float)) and d[k]]
for b in (r.get("physical") or {}).get("bodies", []):
    parts.append(f"{b.get('body')}: {b.get('mb_per_second', 0):,.0f} MB/s {b.get('samples_per_second', 0):,.0f} samples/s")
print("       " + r["id"] + ": " + (r.get("error") or " ".join(parts)))
PY
}

failed_row() {  # failed_row ROW GOAL SYSTEM REASON
  note "$1: $4"
  row_json "$1" "$2" "$3" none --set "error=$4"
}

# loadgen_row ROW GOAL SYSTEM SCAN PATH TIMEOUT -- LOADGEN ARGS...
# Goal H2 starts the SUT with HTTP/2 on (start_sut PROTOCOL h2); its LOADGEN ARGS say --http2.
loadgen_row() {
  local row=$1 goal=$2 system=$3 scan=$4 path=$5 limit=$6 protocol=http/1.1
  shift 7
  [[ $goal == H2 ]] && protocol=h2
  if [[ -z $LOADGEN_BIN ]]; then
    failed_row "$row" "$goal" "$system" "skipped: mla-loadgen not built (build/bin/mla-loadgen)"
    return 0
  fi
  if ! fits "$((limit / 2 + 3))"; then
    failed_row "$row" "$goal" "$system" "skipped: time budget of ${BUDGET}s used up"
    return 0
  fi
  limit=$(cap_to_budget "$limit")
  start_sut "$system" "$row" "$scan" "$path" "$protocol" || {
    row_json "$row" "$goal" "$system" none --set "error=did not start or failed pre-flight"
    return 0
  }
  local out=$RESULTS/raw/$row.loadgen.json lg rc=0 tw
  local cmd=("$LOADGEN_BIN" --target "127.0.0.1:$SUT_PORT" --server-name localhost
    --cert "$CLIENT_CERT" --key "$CLIENT_KEY" --ca "$CA_CERT" --path "$path" --threads 1
    --json-out "$out" --quiet "$@")
  log "$row: $system <- mla-loadgen $*"
  rm -f "$out"
  start_proc 1 "$SUT_DIR/loadgen.log" timeout -k 5 "$limit" "${cmd[@]}"
  lg=$LAST_PID
  taskset -c 1 "$PY" "$BENCH/procstat.py" watch --out "$SUT_DIR/watch.json" --until-exit "$lg" \
    --interval 0.25 --max-seconds "$((limit + 10))" sut="$SUT_PID" sink="$SINK_PID" loadgen="$lg"
  wait "$lg" || rc=$?
  forget_pid "$lg"
  tw=$(temp_file_warnings)
  stop_sut
  local extra=()
  [[ $rc != 0 ]] && extra+=(--set "error=mla-loadgen exited with status $rc: $(tail -n 2 "$SUT_DIR/loadgen.log" | tr '\n' ' ')")
  [[ -s $out ]] || extra+=(--set "error=mla-loadgen wrote no JSON (status $rc)")
  row_json "$row" "$goal" "$system" mla-loadgen --loadgen-json "$out" --watch "$SUT_DIR/watch.json" \
    --command "taskset -c 1 ${cmd[*]}" --set "sut_command=taskset -c 0 $SUT_CMD" \
    --set "temp_file_warnings=$tw" --set "sink_mode=$SINK_MODE" "${extra[@]+"${extra[@]}"}"
}

# idle_row ROW SYSTEM N: P4, RSS per idle mTLS connection.
idle_row() {
  # The connections are held up to SETTLE_MAX seconds longer than HOLD while the SUT finishes the
  # handshakes (see below); the load generator is stopped as soon as RSS is measured.
  local row=$1 system=$2 n=$3 limit=$((${CONNECT_LIMIT:-$CONNECT_ALLOW} + HOLD + SETTLE_MAX + 20))
  if [[ -z $LOADGEN_BIN ]]; then
    failed_row "$row" P4 "$system" "skipped: mla-loadgen not built (build/bin/mla-loadgen)"
    return 0
  fi
  fits "$((limit / 2))" || {
    failed_row "$row" P4 "$system" "skipped: time budget of ${BUDGET}s used up"
    return 0
  }
  limit=$(cap_to_budget "$limit")
  start_sut "$system" "$row" false /api/v1/push || {
    row_json "$row" P4 "$system" none --set "error=did not start or failed pre-flight"
    return 0
  }
  local out=$RESULTS/raw/$row.loadgen.json lg rc=0 i established=""
  local cmd=("$LOADGEN_BIN" --target "127.0.0.1:$SUT_PORT" --server-name localhost
    --cert "$CLIENT_CERT" --key "$CLIENT_KEY" --ca "$CA_CERT" --mode idle --connections "$n"
    --hold "$((HOLD + SETTLE_MAX))s" --threads 1 --json-out "$out")
  sleep 0.5  # let the pre-flight connection close
  taskset -c 1 "$PY" "$BENCH/procstat.py" snap sut="$SUT_PID" >"$SUT_DIR/before.json"
  log "$row: $system <- mla-loadgen --mode idle --connections $n --hold ${HOLD}s"
  local t0 connect_ms=0
  t0=$(date +%s%N)
  start_proc 1 "$SUT_DIR/loadgen.log" timeout -k 5 "$limit" "${cmd[@]}"
  lg=$LAST_PID
  for ((i = 0; i < limit * 5; i++)); do
    established=$(sed -n 's/^idle: \([0-9]*\) connections established.*/\1/p' "$SUT_DIR/loadgen.log" | head -n 1)
    [[ -n $established ]] && break
    alive "$lg" || break
    sleep 0.2
  done
  if [[ -n $established ]]; then
    connect_ms=$((($(date +%s%N) - t0) / 1000000))
    # The client sees a TLS 1.3 handshake done before the server has verified the client's
    # certificate: wait until the SUT's CPU goes quiet, so every connection is fully set up.
    settle_s=$(taskset -c 1 "$PY" "$BENCH/procstat.py" settle "$SUT_PID" "$SETTLE_MAX")
    taskset -c 1 "$PY" "$BENCH/procstat.py" snap sut="$SUT_PID" loadgen="$lg" >"$SUT_DIR/held.json"
    kill -TERM "$lg" 2>/dev/null || true  # measured: no need to hold for the rest of --hold
  fi
  wait "$lg" || rc=$?
  forget_pid "$lg"
  stop_sut
  local extra=()
  if [[ -z $established ]]; then
    extra+=(--set "error=mla-loadgen never printed 'idle: N connections established' (status $rc): $(tail -n 2 "$SUT_DIR/loadgen.log" | tr '\n' ' ')")
  else
    extra+=(--snap "before=$SUT_DIR/before.json" --snap "held=$SUT_DIR/held.json"
      --set "idle_established=$established" --set "connect_seconds=$((connect_ms / 1000)).$((connect_ms % 1000 / 100))"
      --set "settle_seconds=$settle_s"
      --set "connect_rate=$((established * 1000 / (connect_ms > 0 ? connect_ms : 1)))")
  fi
  row_json "$row" P4 "$system" mla-loadgen --loadgen-json "$out" --command "taskset -c 1 ${cmd[*]}" \
    --set "sut_command=taskset -c 0 $SUT_CMD" --set "idle_requested=$n" "${extra[@]}"
}

# ab_row ROW SYSTEM: the ApacheBench cross-check of P1 (64 keep-alive connections, DUR seconds).
NODELAY_SO=""
ab_row() {
  local row=$1 system=$2
  [[ -n $AB_BIN ]] || {
    failed_row "$row" AB "$system" "skipped: ab (apache2-utils) not installed"
    return 0
  }
  fits "$((DUR + 5))" || {
    failed_row "$row" AB "$system" "skipped: time budget of ${BUDGET}s used up"
    return 0
  }
  # The same body as mla-loadgen's P1 body: mla-physical-limit writes it; without that tool,
  # random bytes of the same size (P1 forwards bodies unread, so only the size matters).
  local bytes
  if [[ ! -s $RUN/ab-body.bin ]]; then
    if [[ -n $PHYS_BIN ]]; then
      timeout 30 "$PHYS_BIN" --body "rw-v1 2000x1" --write-body "$RUN/ab-body.bin" >/dev/null 2>&1 || true
    fi
    if [[ ! -s $RUN/ab-body.bin ]]; then
      bytes=$("$PY" -c 'import json,sys
try: print(int(json.load(open(sys.argv[1]))["loadgen"]["body_bytes"]))
except Exception: print(131863)' "$RESULTS/P1-$system.json" 2>/dev/null || echo 131863)
      head -c "$bytes" /dev/urandom >"$RUN/ab-body.bin"
    fi
  fi
  bytes=$(stat -c %s "$RUN/ab-body.bin")
  start_sut "$system" "$row" false /api/v1/push || {
    row_json "$row" AB "$system" none --set "error=did not start or failed pre-flight"
    return 0
  }
  local cmd=("$AB_BIN" -k -c "$CONNS" -t "$DUR" -n 100000000 -E "$CLIENT_PEM" -p "$RUN/ab-body.bin"
    -T application/x-protobuf -H 'Content-Encoding: snappy'
    -H 'X-Prometheus-Remote-Write-Version: 0.1.0' "https://127.0.0.1:$SUT_PORT/api/v1/push")
  local env=()
  [[ -n $NODELAY_SO ]] && env=(env "LD_PRELOAD=$NODELAY_SO")
  log "$row: $system <- ab -k -c $CONNS -t $DUR (${bytes} B body${NODELAY_SO:+, TCP_NODELAY shim})"
  local lg rc=0
  start_proc 1 "$SUT_DIR/ab.out" timeout -k 5 "$((DUR + 30))" "${env[@]}" "${cmd[@]}"
  lg=$LAST_PID
  taskset -c 1 "$PY" "$BENCH/procstat.py" watch --out "$SUT_DIR/watch.json" --until-exit "$lg" \
    --interval 0.25 --max-seconds "$((DUR + 40))" sut="$SUT_PID" sink="$SINK_PID" loadgen="$lg"
  wait "$lg" || rc=$?
  forget_pid "$lg"
  stop_sut
  cp "$SUT_DIR/ab.out" "$RESULTS/raw/$row.ab.txt"
  local extra=()
  [[ $rc != 0 ]] && extra+=(--set "error=ab exited with status $rc")
  row_json "$row" AB "$system" ab --ab-output "$SUT_DIR/ab.out" --watch "$SUT_DIR/watch.json" \
    --command "taskset -c 1 ${env[*]} ${cmd[*]}" --set "sut_command=taskset -c 0 $SUT_CMD" \
    --set "nodelay_shim=$([[ -n $NODELAY_SO ]] && echo true || echo false)" --set "body_bytes=$bytes" \
    "${extra[@]+"${extra[@]}"}"
}

# physical_limit_row: mla-physical-limit on CPU 0, for the two bodies P2 and P7 compare against.
physical_limit_row() {
  if [[ -z $PHYS_BIN ]]; then
    failed_row physical-limit PHYS mla-physical-limit "skipped: mla-physical-limit not built"
    return 0
  fi
  local cmd=("$PHYS_BIN" --json --body "rw-v1 2000x1" --body "loki-proto 1MiB")
  ((QUICK)) && cmd+=(--seconds 0.1 --repeat 2)
  fits 30 || {
    failed_row physical-limit PHYS mla-physical-limit "skipped: time budget of ${BUDGET}s used up"
    return 0
  }
  log "physical-limit: ${cmd[*]}"
  local rc=0
  taskset -c 0 timeout -k 5 120 "${cmd[@]}" >"$RESULTS/raw/physical-limit.json" \
    2>"$RUN/physical-limit.err" || rc=$?
  if [[ $rc != 0 ]]; then
    failed_row physical-limit PHYS mla-physical-limit "mla-physical-limit exited with status $rc: $(tail -n 2 "$RUN/physical-limit.err" | tr '\n' ' ')"
    return 0
  fi
  row_json physical-limit PHYS mla-physical-limit physical-limit \
    --physical-json "$RESULTS/raw/physical-limit.json" --command "taskset -c 0 ${cmd[*]}"
}

# rate_of ROW KEY: a rate from an earlier row of this run, rounded ("" if none), e.g.
# rate_of P1-nginx requests_per_second.
rate_of() {
  "$PY" -c 'import json,sys
try: print(round(float(json.load(open(sys.argv[1]))["loadgen"][sys.argv[2]])))
except Exception: pass' "$RESULTS/$1.json" "$2" 2>/dev/null || true
}
# row_value ROW KEY: a top-level number of an earlier row of this run ("" if none).
row_value() {
  "$PY" -c 'import json,sys
try: print(round(float(json.load(open(sys.argv[1]))[sys.argv[2]])))
except Exception: pass' "$RESULTS/$1.json" "$2" 2>/dev/null || true
}
# rate_or_default ROW: P5 handshakes/s of ROW at 50% (a conservative connect rate), 75 if unknown.
rate_or_default() {
  local r
  r=$(rate_of "$1" handshakes_per_second)
  if [[ -n $r && $r -ge 40 ]]; then echo $((r / 2)); else echo 75; fi
}

# --- the run ------------------------------------------------------------------------------------
[[ -n $NGINX_BIN ]] || {
  echo "run.sh: nginx is needed for the sink (Debian package nginx)" >&2
  exit 1
}
[[ -n $GATEWAY_BIN ]] || note "mla-gateway not built (cmake --build build --target mla-gateway): its rows are skipped"
[[ -n $LOADGEN_BIN ]] || note "mla-loadgen not built: every row but the ab cross-check and the physical limit is skipped"
if [[ -n $AB_BIN ]] && command -v cc >/dev/null; then
  # ab never sets TCP_NODELAY: without this shim it stalls 40 ms per request (bench/README.md).
  if cc -shared -fPIC -O2 -o "$RUN/nodelay.so" "$BENCH/tools/nodelay_preload.c" -ldl 2>"$RUN/cc.log"; then
    NODELAY_SO=$RUN/nodelay.so
  fi
fi
[[ -n $AB_BIN && -z $NODELAY_SO ]] && note "no C compiler: ab runs without the TCP_NODELAY shim, its numbers are capped by 40 ms delayed-ACK stalls"

"$PY" - "$RESULTS/meta.json" <<PY
import json, os, platform, subprocess, sys, time
def out(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0] if (p.stdout + p.stderr).strip() else ""
    except Exception:
        return ""
model = ""
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        model = line.split(":", 1)[1].strip()
        break
mem_kb = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
json.dump({
    "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime($START_EPOCH)),
    "command": "bash bench/run.sh ${SHOWN_ARGS[*]}".strip(),
    "quick": bool($QUICK),
    "machine": {"cpu_model": model, "cpus": os.cpu_count(), "kernel": platform.release(),
                "memory_gib": round(mem_kb / 1048576, 1),
                "loadavg_start": open("/proc/loadavg").read().split()[:3]},
    "network": "$NETWORK",
    "versions": {"mla-gateway": out(["$GATEWAY_BIN", "--version"]) if "$GATEWAY_BIN" else "",
                 "nginx": out(["$NGINX_BIN", "-v"]),
                 "haproxy": out(["$HAPROXY_BIN", "-v"]) if "$HAPROXY_BIN" else "",
                 "ab": out(["$AB_BIN", "-V"]) if "$AB_BIN" else "",
                 "openssl": out(["openssl", "version"])},
    "binaries": {"mla-gateway": "$GATEWAY_BIN", "mla-loadgen": "$LOADGEN_BIN",
                 "mla-physical-limit": "$PHYS_BIN"},
    "parameters": {"duration_s": $DUR, "warmup": "$WARM", "connections": $CONNS,
                   "h2_connections": $H2_CONNS, "h2_streams": $H2_STREAMS,
                   "idle_connections": $IDLE_N, "tenants": $TENANTS, "p6_connections": $P6_CONNS,
                   "nofile": $NOFILE, "haproxy_maxconn": $HAPROXY_MAXCONN, "budget_s": $BUDGET},
    "pinning": "system under test: CPU 0 (one worker); sink and load generator: CPU 1",
}, open(sys.argv[1], "w"), indent=2)
PY

start_sink
[[ -n $NODELAY_SO ]] && log "ab: TCP_NODELAY shim built ($NODELAY_SO)"

SYSTEMS_ALL=(mla-gateway nginx nginx-kkp haproxy)
run_system() { want_system "$1" && system_available "$1"; }
for s in "${SYSTEMS_ALL[@]}"; do
  want_system "$s" && ! system_available "$s" && note "$s not installed or not built: its rows are skipped"
done
MEASURE=$((DUR + 17))  # timeout of one closed/open-loop row: warm-up and start-up included

# P1: remote-write 1.0, 2,000-sample batches, 64 keep-alive connections, closed loop, scan off.
if want_goal P1; then
  for s in "${SYSTEMS_ALL[@]}"; do
    run_system "$s" || continue
    loadgen_row "P1-$s" P1 "$s" false /api/v1/push "$MEASURE" -- --payload rw1 --series 2000 \
      --mode closed --connections "$CONNS" --duration "${DUR}s" --warmup "$WARM"
  done
fi

# H2: the P1 load over HTTP/2 (ALPN h2 on the client side, HTTP/1.1 to the sink), 8 connections
# × 8 streams = 64 requests in flight; RESULTS.md puts each system's H2 row beside its P1 row.
if want_goal H2; then
  for s in mla-gateway nginx haproxy; do
    run_system "$s" || continue
    loadgen_row "H2-$s" H2 "$s" false /api/v1/push "$MEASURE" -- --http2 --payload rw1 \
      --series 2000 --mode closed --connections "$H2_CONNS" --streams "$H2_STREAMS" \
      --duration "${DUR}s" --warmup "$WARM"
  done
fi

# Cross-check: the P1 row of mla-gateway and nginx again, measured by ApacheBench.
if want_goal AB; then
  for s in mla-gateway nginx; do
    run_system "$s" && ab_row "AB-$s" "$s"
  done
fi

# P2: the same with inspection and limits on (mla-gateway only), against the physical limit.
if want_goal P2; then
  run_system mla-gateway && loadgen_row P2-mla-gateway P2 mla-gateway true /api/v1/push "$MEASURE" -- \
    --payload rw1 --series 2000 --mode closed --connections "$CONNS" --duration "${DUR}s" --warmup "$WARM"
fi
if want_goal P2 || want_goal P7; then
  physical_limit_row
fi

# P3: open loop at 50% of nginx's P1 rate; latency percentiles.
if want_goal P3; then
  rate=$(rate_of P1-nginx requests_per_second)
  if [[ -z $rate ]]; then
    rate=$("$PY" -c 'import json,sys
try:
    rows = json.load(open(sys.argv[1]))["rows"]
    print(round(next(r["loadgen"]["requests_per_second"] for r in rows if r["id"] == "P1-nginx")))
except Exception: pass' "$BENCH/results/latest.json" 2>/dev/null || true)
    [[ -n $rate ]] && note "P3: no P1 nginx row in this run: rate from bench/results/latest.json"
  fi
  if [[ -z $rate || $rate -lt 2 ]]; then
    rate=400
    note "P3: nginx's P1 rate unknown: open loop at a fixed 200 requests/s"
  fi
  half=$((rate / 2))
  for s in mla-gateway nginx haproxy; do
    run_system "$s" || continue
    loadgen_row "P3-$s" P3 "$s" false /api/v1/push "$MEASURE" -- --payload rw1 --series 2000 \
      --mode open --rate "$half" --connections "$CONNS" --duration "${DUR}s" --warmup "$WARM"
  done
fi

# P5: a new TLS connection per request; handshakes/s.
if want_goal P5; then
  for s in mla-gateway nginx haproxy; do
    run_system "$s" || continue
    # A small body (10 series): the row measures handshakes, not body transfer.
    loadgen_row "P5-$s" P5 "$s" false /api/v1/push "$MEASURE" -- --payload rw1 --series 10 \
      --mode handshake --connections "$CONNS" --duration "${DUR}s" --warmup "$WARM"
  done
fi

# P7: Loki push, 1 MiB protobuf+snappy, inspection on; MB/s per core (nginx, HAProxy: reference).
if want_goal P7; then
  for s in mla-gateway nginx haproxy; do
    run_system "$s" || continue
    loadgen_row "P7-$s" P7 "$s" true /loki/api/v1/push "$MEASURE" -- --payload loki-proto \
      --loki-bytes 1MiB --mode closed --connections "$CONNS" --duration "${DUR}s" --warmup "$WARM"
  done
fi

# P4 and P6 open 10,000 mTLS connections per row. A full handshake costs a few ms of CPU on each
# side here, so opening them can take a minute or more: they run last, and share the time left.
# When the share cannot open IDLE_N connections at the expected rate (70% of the connect rate
# the P4 row of that system measured, else half the handshake rate P5 measured, else 75/s), the
# rows open fewer (a multiple of 500, the same number for every P4 system, so that KiB per
# connection stays comparable) and the run says so. Each row is also cut off 20 s past the budget.
P46_LEFT=0
P4_SYSTEMS=()
if want_goal P4; then
  for s in mla-gateway nginx haproxy; do
    run_system "$s" && P4_SYSTEMS+=("$s") && P46_LEFT=$((P46_LEFT + 1))
  done
fi
want_goal P6 && run_system mla-gateway && P46_LEFT=$((P46_LEFT + 2))

# affordable_connections SYSTEM WANTED FIXED_SECONDS: connections one row can open in its share
# of the remaining budget (FIXED_SECONDS: the row's time besides opening connections).
affordable_connections() {
  local system=$1 wanted=$2 fixed=$3 rate share n
  rate=$(row_value "P4-$system" connect_rate)
  if [[ -n $rate && $rate -ge 10 ]]; then
    rate=$((rate * 7 / 10))
  else
    rate=$(rate_of "P5-$system" handshakes_per_second)
    if [[ -n $rate && $rate -ge 20 ]]; then rate=$((rate / 2)); else rate=75; fi
  fi
  share=$(((BUDGET - $(elapsed) - 10) / (P46_LEFT > 0 ? P46_LEFT : 1) - fixed))
  n=$((share * rate))
  ((n >= wanted)) && { echo "$wanted"; return 0; }
  n=$((n / 500 * 500))
  ((n < 500)) && n=500
  echo "$n"
}

# P4: N idle mTLS connections; RSS per connection.
if ((${#P4_SYSTEMS[@]})); then
  P4_N=$IDLE_N
  if in_list haproxy "$(IFS=,; echo "${P4_SYSTEMS[*]}")" && ((P4_N > HAPROXY_MAXCONN - 50)); then
    P4_N=$(((HAPROXY_MAXCONN - 50) / 100 * 100))
    note "P4: $P4_N connections instead of $IDLE_N: HAProxy needs 2 fds per maxconn and the fd limit is $NOFILE"
  fi
  want=$P4_N
  for s in "${P4_SYSTEMS[@]}"; do
    n=$(affordable_connections "$s" "$P4_N" "$((HOLD + 8))")
    ((n < P4_N)) && P4_N=$n
  done
  ((P4_N < want)) && note "P4: $P4_N connections instead of $want: the time budget would not allow more at this machine's handshake rate"
  for s in "${P4_SYSTEMS[@]}"; do
    CONNECT_LIMIT=$((P4_N / $(rate_or_default "P5-$s") + 20))
    idle_row "P4-$s" "$s" "$P4_N"
    P46_LEFT=$((P46_LEFT - 1))
  done
fi

# P6: N distinct tenants over N connections vs one tenant over as many (mla-gateway only).
if want_goal P6 && run_system mla-gateway; then
  n=$(affordable_connections mla-gateway "$P6_CONNS" "$((DUR + 12))")
  if ((n < P6_CONNS)); then
    note "P6: $n connections and tenants instead of $P6_CONNS: the time budget would not allow more at this machine's handshake rate"
  fi
  P6_CONNS=$n
  ((TENANTS > n)) && TENANTS=$n
  P6_LIMIT=$((DUR + 17 + n / $(rate_or_default P5-mla-gateway) + 20))
  P6_WARM=2s
  loadgen_row P6-mla-gateway-single P6 mla-gateway true /api/v1/push "$P6_LIMIT" -- \
    --payload rw1 --series 2000 --mode closed --connections "$P6_CONNS" --inflight "$CONNS" \
    --duration "${DUR}s" --warmup "$P6_WARM"
  P46_LEFT=$((P46_LEFT - 1))
  loadgen_row P6-mla-gateway-tenants P6 mla-gateway true /api/v1/push "$P6_LIMIT" -- \
    --payload rw1 --series 2000 --mode closed --connections "$P6_CONNS" --inflight "$CONNS" \
    --tenants "$TENANTS" --tenant-ca-cert "$CA_CERT" --tenant-ca-key "$CA_KEY" \
    --duration "${DUR}s" --warmup "$P6_WARM"
fi

# --- wrap up ------------------------------------------------------------------------------------
sink_tw=$(grep -c 'buffered to a temporary file' "$RUN/sink/sink.error.log" 2>/dev/null || true)
[[ ${sink_tw:-0} -gt 0 ]] && note "sink: $sink_tw bodies were buffered to temp files"
[[ -s $RUN/sink/sink.error.log ]] && cp "$RUN/sink/sink.error.log" "$RESULTS/logs/"
stop_proc "$SINK_PID"
"$PY" - "$RESULTS/meta.json" <<PY
import json, sys, time
meta = json.load(open(sys.argv[1]))
meta["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
meta["wall_seconds"] = $(elapsed)
meta["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
meta["sink_mode"] = "$SINK_MODE"
json.dump(meta, open(sys.argv[1], "w"), indent=2)
PY
"$PY" "$BENCH/report.py" finish --results "$RESULTS" --latest "$BENCH/results/latest.json" \
  --markdown "$BENCH/RESULTS.md"
log "done in $(elapsed)s: $RESULTS, bench/results/latest.json, bench/RESULTS.md"
