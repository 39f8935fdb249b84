#!/usr/bin/env bash
# Local demo of the main job: a real Prometheus (agent mode, the "user cluster") remote-writes its
# own metrics over mTLS through mla-gateway into a real backend (a second Prometheus with the
# remote-write receiver, standing in for Cortex). Prints what arrives at the backend every few
# seconds until Ctrl-C.
#
#   Prometheus agent :19091 --remote_write, mTLS (client cert CN=demo-cluster)-->
#       mla-gateway :18443 --HTTP, X-Scope-OrgID: demo-cluster--> Prometheus receiver :19090
#   (the gateway's admin listener, :19092, serves /metrics; the agent scrapes it too)
#
# Usage: bash scripts/demo.sh
# Environment:
#   DEMO_DURATION=SECONDS   stop by itself after that long; exit 0 only if series arrived
#   DEMO_DIR=PATH           work dir for PKI, configs, data and logs (default build-demo/)
#   GATEWAY_PORT, BACKEND_PORT, AGENT_PORT, ADMIN_PORT
#                           (default 18443, 19090, 19091, 19092; all on 127.0.0.1)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly ROOT=$PWD
readonly DEMO_DIR=${DEMO_DIR:-$ROOT/build-demo}
readonly GATEWAY_PORT=${GATEWAY_PORT:-18443}
readonly BACKEND_PORT=${BACKEND_PORT:-19090}
readonly AGENT_PORT=${AGENT_PORT:-19091}
readonly ADMIN_PORT=${ADMIN_PORT:-19092}
readonly DEMO_DURATION=${DEMO_DURATION:-0}
readonly INTERVAL=5
readonly GATEWAY_BIN=$ROOT/build/bin/mla-gateway
readonly PKI=$DEMO_DIR/pki
readonly LOGS=$DEMO_DIR/logs

say() { printf 'demo: %s\n' "$*"; }
die() {
  printf 'demo: ERROR: %s\n' "$*" >&2
  exit 1
}

# --- processes: only the PIDs started here are ever signalled ----------------------------------
pids=()
names=()
# Stops in reverse start order (agent first, so it can flush through the gateway), each process
# with SIGTERM and, after 15 s, SIGKILL. Signals are ignored meanwhile so that a second Ctrl-C
# (or a closed pipe on stdout) cannot leave processes behind.
# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
  local rc=$?
  trap '' INT TERM PIPE
  trap - EXIT
  set +e
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    local pid=${pids[$i]} name=${names[$i]}
    kill -0 "$pid" 2>/dev/null || continue
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name (pid $pid) did not stop within 15s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  say "logs are in ${LOGS#"$ROOT"/}/"
  exit "$rc"
}
trap cleanup EXIT
# Ctrl-C is the normal way to stop. SIGPIPE is ignored from then on: the terminal's Ctrl-C also
# ends a `| tee` reading our output, and cleanup must still run.
trap 'trap "" PIPE; echo 2>/dev/null || true; exit 0' INT
trap 'exit 143' TERM

# start NAME COMMAND... : runs COMMAND in the background, output to $LOGS/NAME.log. setsid puts it
# in its own session, so a Ctrl-C reaches only this script, which then stops the processes in
# order (without job control a background child is no group leader: setsid execs in place and $!
# is the command's own PID).
start() {
  local name=$1
  shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  pids+=("$!")
  names+=("$name")
  say "started $name (pid $!): $*"
}

check_alive() {
  local i
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      say "${names[$i]} (pid ${pids[$i]}) exited; last lines of its log:"
      tail -n 20 "$LOGS/${names[$i]}.log" | sed 's/^/    /'
      return 1
    fi
  done
}

# wait_for WHAT SECONDS COMMAND... : polls COMMAND until it succeeds.
wait_for() {
  local what=$1 limit=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    check_alive || die "$what failed to start"
    ((SECONDS < deadline)) || die "$what not ready after ${limit}s"
    sleep 0.5
  done
}

port_free() { [[ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]; }

# curl to the gateway as the demo client (mTLS), or as a client with no certificate.
gw_curl() {
  curl -sS --max-time 5 --resolve "localhost:$GATEWAY_PORT:127.0.0.1" --cacert "$PKI/ca.crt" "$@"
}

backend_query() { # prints the first value of an instant query, or 0
  curl -sS --max-time 5 -G "http://127.0.0.1:$BACKEND_PORT/api/v1/query" \
    --data-urlencode "query=$1" 2>/dev/null | jq -r '.data.result[0].value[1] // "0"' 2>/dev/null ||
    echo 0
}

# metric URL NAME [LABEL_FILTER]: sums the samples of one metric (optionally only those whose
# labels contain LABEL_FILTER, e.g. tenant="demo-cluster") from a /metrics page.
metric() {
  curl -sS --max-time 5 "$1" 2>/dev/null |
    awk -v m="$2" -v f="${3:-}" '($1 == m || index($1, m "{") == 1) && index($1, f) { s += $NF }
      END { printf "%d", s }'
}

# --- 1. dependencies and the gateway binary -----------------------------------------------------
say "installing dependencies (fast when already installed)"
bash scripts/install-deps.sh
say "building build/bin/mla-gateway (release)"
bash scripts/build.sh release mla-gateway mla-gatewayctl
[[ -x "$GATEWAY_BIN" ]] || die "$GATEWAY_BIN was not built"

for port in "$GATEWAY_PORT" "$BACKEND_PORT" "$AGENT_PORT" "$ADMIN_PORT"; do
  port_free "$port" || die "port $port on this machine is in use (is another demo running?)"
done

# --- 2. PKI and configs -------------------------------------------------------------------------
mkdir -p "$DEMO_DIR" "$LOGS"
rm -rf "$DEMO_DIR/receiver-data" "$DEMO_DIR/agent-data" # each run starts with empty storage
bash config/dev-pki.sh "$PKI" demo-cluster

render() { # template -> DEMO_DIR/<name>, filling in @PLACEHOLDERS@
  sed -e "s|@PKI_DIR@|$PKI|g" -e "s|@GATEWAY_PORT@|$GATEWAY_PORT|g" \
    -e "s|@BACKEND_PORT@|$BACKEND_PORT|g" -e "s|@AGENT_PORT@|$AGENT_PORT|g" \
    -e "s|@ADMIN_PORT@|$ADMIN_PORT|g" -e "s|@DEMO_DIR@|$DEMO_DIR|g" \
    "config/demo/$1" >"$DEMO_DIR/$1"
}
render gateway.yaml
render prometheus-agent.yml
render prometheus-receiver.yml
"$GATEWAY_BIN" --config.file="$DEMO_DIR/gateway.yaml" --check-config ||
  die "the gateway rejected $DEMO_DIR/gateway.yaml"

# --- 3. backend, gateway, agent -----------------------------------------------------------------
start backend prometheus \
  --config.file="$DEMO_DIR/prometheus-receiver.yml" \
  --storage.tsdb.path="$DEMO_DIR/receiver-data" \
  --storage.tsdb.retention.time=1d \
  --web.listen-address="127.0.0.1:$BACKEND_PORT" \
  --web.enable-remote-write-receiver
wait_for "backend Prometheus" 60 curl -fsS "http://127.0.0.1:$BACKEND_PORT/-/ready"

start gateway "$GATEWAY_BIN" --config.file="$DEMO_DIR/gateway.yaml" --log.level=info
wait_for "mla-gateway" 30 curl -fsS "http://127.0.0.1:$ADMIN_PORT/-/ready"

# Two quick checks a person would try by hand; informational, they do not stop the demo.
if gw_curl -o /dev/null "https://localhost:$GATEWAY_PORT/api/v1/write" 2>/dev/null; then
  say "check: a client WITHOUT a certificate got an HTTP answer (unexpected)"
else
  say "check: a client without a certificate is refused at the TLS handshake (as designed)"
fi
code=$(gw_curl -o /dev/null -w '%{http_code}' --cert "$PKI/client.crt" --key "$PKI/client.key" \
  "https://localhost:$GATEWAY_PORT/api/v1/write" 2>/dev/null || true)
say "check: GET /api/v1/write with the client certificate -> HTTP ${code:-none} (push routes take POST)"

start agent prometheus \
  --enable-feature=agent \
  --config.file="$DEMO_DIR/prometheus-agent.yml" \
  --storage.agent.path="$DEMO_DIR/agent-data" \
  --web.listen-address="127.0.0.1:$AGENT_PORT"
wait_for "agent Prometheus" 60 curl -fsS "http://127.0.0.1:$AGENT_PORT/-/ready"

cat <<INFO

  agent Prometheus   http://127.0.0.1:$AGENT_PORT   scrapes itself every 2s, remote-writes over mTLS
  mla-gateway        https://localhost:$GATEWAY_PORT  tenant from client cert CN (demo-cluster)
                     http://127.0.0.1:$ADMIN_PORT/          status page (tenants, rates, disable)
                     http://127.0.0.1:$ADMIN_PORT/metrics   its metrics
                     build/bin/mla-gatewayctl --socket=${DEMO_DIR#"$ROOT"/}/control.sock tenants list
  backend Prometheus http://127.0.0.1:$BACKEND_PORT/graph   receives what the gateway forwards
  logs               ${LOGS#"$ROOT"/}/{agent,gateway,backend}.log

  $([[ $DEMO_DURATION -gt 0 ]] && echo "running for ${DEMO_DURATION}s" || echo "press Ctrl-C to stop")

INFO

# --- 4. watch data arrive -----------------------------------------------------------------------
began=$SECONDS
series=0
while true; do
  sleep "$INTERVAL"
  check_alive || die "a demo process died"
  series=$(backend_query 'count({__name__=~".+"})')
  agent=http://127.0.0.1:$AGENT_PORT/metrics
  sent=$(metric "$agent" prometheus_remote_storage_samples_total)
  failed=$(metric "$agent" prometheus_remote_storage_samples_failed_total)
  retried=$(metric "$agent" prometheus_remote_storage_samples_retried_total)
  admitted=$(metric "http://127.0.0.1:$ADMIN_PORT/metrics" mla_gateway_received_samples_total \
    'tenant="demo-cluster"')
  printf 'demo: [%4ds] agent sent %s samples (%s failed, %s retried) | gateway admitted %s for tenant demo-cluster | backend has %s series\n' \
    $((SECONDS - began)) "$sent" "$failed" "$retried" "$admitted" "$series"
  if ((DEMO_DURATION > 0 && SECONDS - began >= DEMO_DURATION)); then
    break
  fi
done

if [[ "$series" =~ ^[0-9]+$ ]] && ((series > 0)); then
  say "OK: $series series went from Prometheus through mla-gateway (mTLS) into the backend"
  exit 0
fi
say "FAILED: no series reached the backend; gateway log tail:"
tail -n 30 "$LOGS/gateway.log" | sed 's/^/    /'
exit 1
