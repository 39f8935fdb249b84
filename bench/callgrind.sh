#!/usr/bin/env bash
# Instructions per request (valgrind --tool=callgrind) of mla-gateway (route scan off and on) and
# nginx doing the same job: mTLS termination with the same ECDSA P-256 certificates, tenant from
# the client certificate CN into X-Scope-OrgID, the body forwarded over keep-alive to the same
# sink (an nginx `return 204;`, not under valgrind). Instruction counts do not depend on what else
# the machine is running, so this comparison holds on a noisy shared VM where timings do not.
#
# Each system runs under callgrind twice, serving N1 and then N2 requests from ApacheBench (not
# under valgrind; -k, -c CONC, the same body). Startup, the CONC TLS handshakes and shutdown are
# the same in both runs, so (Ir(N2) - Ir(N1)) / (N2 - N1) is the cost of one request alone.
#
# Usage: bash bench/callgrind.sh
# Environment: BUILD_DIR (default build-phys; needs bin/mla-gateway and bin/mla-physical-limit,
#   a RelWithDebInfo build gives function names with lines), N1 (100), N2 (600), CONC (8),
#   BODY ("rw-v1 2000x1", "rw-v2 2000x1" or "loki-proto 1MiB"; for Loki use N1=20 N2=100:
#   8x the bytes per request), SYSTEMS (default "gateway-scan-off gateway-scan-on nginx"),
#   OUT_DIR (bench/results), KEEP_WORK (1: keep the temporary directory
#   with the raw profiles, configs and logs, for callgrind_annotate or kcachegrind).
# Writes OUT_DIR/callgrind.json and OUT_DIR/callgrind-{gateway-scan-off,gateway-scan-on,nginx}.txt
# (top functions per request and callgrind_annotate of the N2 run). Everything listens on
# 127.0.0.1; every process started here is stopped by PID on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${BUILD_DIR:-build-phys}
n1=${N1:-100}
n2=${N2:-600}
conc=${CONC:-8}
body_name=${BODY:-rw-v1 2000x1}
out_dir=${OUT_DIR:-bench/results}
gateway_bin=$build_dir/bin/mla-gateway
limit_bin=$build_dir/bin/mla-physical-limit
readonly start_timeout=300 stop_timeout=120 # seconds, in 0.5 s polls

die() {
  echo "callgrind.sh: $*" >&2
  exit 1
}

for tool in valgrind callgrind_annotate ab nginx openssl python3 ss; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian: valgrind apache2-utils nginx)"
done
[[ -x $gateway_bin && -x $limit_bin ]] ||
  die "need $gateway_bin and $limit_bin: cmake -S . -B $build_dir -G Ninja" \
    "-DCMAKE_BUILD_TYPE=RelWithDebInfo && ninja -C $build_dir mla-gateway mla-physical-limit"
((n2 > n1 && n1 >= conc)) || die "need N2 > N1 >= CONC"

work=$(mktemp -d /tmp/mla-callgrind.XXXXXX)
sink_pid=""
sut_pid="" # the system under test while it runs

alive() { [[ -e /proc/$1 ]] && [[ $(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) == [^Z]* ]]; }

# stop PID: SIGTERM, then up to stop_timeout for it to exit (callgrind writes its profile on exit).
stop() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < stop_timeout * 2; i++)); do
    alive "$pid" || break
    sleep 0.5
  done
  if alive "$pid"; then
    echo "callgrind.sh: PID $pid ignored SIGTERM for ${stop_timeout}s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  [[ -n $sut_pid ]] && stop "$sut_pid"
  [[ -n $sink_pid ]] && stop "$sink_pid"
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "callgrind.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_listen PID PORT: until PORT accepts on 127.0.0.1 (checked with ss, so no connection is made).
wait_listen() {
  local pid=$1 port=$2 i
  for ((i = 0; i < start_timeout * 2; i++)); do
    alive "$pid" || die "PID $pid exited before listening on $port (logs in $work)"
    [[ -n $(ss -Hltn "sport = :$port") ]] && return 0
    sleep 0.5
  done
  die "nothing listens on $port after ${start_timeout}s"
}

# --- certificates, body, sink -------------------------------------------------------------------

bash config/dev-pki.sh "$work/pki" tenant-a 2 2>/dev/null
pki=$work/pki
body=$work/body.bin
"$limit_bin" --write-body "$body" --body "$body_name"
body_bytes=$(stat -c %s "$body")
# How a client sends this body: path, Content-Type and extra headers (as mla-loadgen does).
case $body_name in
  rw-v1*)
    path=/api/v1/push
    content_type=application/x-protobuf
    headers=(-H 'Content-Encoding: snappy' -H 'X-Prometheus-Remote-Write-Version: 0.1.0')
    ;;
  rw-v2*)
    path=/api/v1/push
    content_type='application/x-protobuf;proto=io.prometheus.write.v2.Request'
    headers=(-H 'Content-Encoding: snappy' -H 'X-Prometheus-Remote-Write-Version: 2.0.0')
    ;;
  loki-proto*)
    path=/loki/api/v1/push
    content_type=application/x-protobuf # snappy is implied; Promtail sends no Content-Encoding
    headers=()
    ;;
  *) die "unknown BODY '$body_name'" ;;
esac

# nginx prefix directories: temp paths live there, not in /var/lib/nginx.
nginx_prefix() {
  mkdir -p "$work/$1/logs"
  local p
  for p in client_body proxy fastcgi uwsgi scgi; do
    echo "  ${p}_temp_path $work/$1/${p}_temp;"
  done
}

sink_port=$(free_port)
cat >"$work/sink.conf" <<EOF
# The upstream: answers every request 204 and keeps the connection.
master_process off;
daemon off;
worker_processes 1;
error_log $work/sink/logs/error.log warn;
pid $work/sink/nginx.pid;
events { worker_connections 1024; }
http {
$(nginx_prefix sink)
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:$sink_port;
    location / { return 204; }
  }
}
EOF
nginx -p "$work/sink" -c "$work/sink.conf" -e "$work/sink/logs/error.log" &
sink_pid=$!
wait_listen "$sink_pid" "$sink_port"

# --- the systems under test ---------------------------------------------------------------------

# gateway_config PORT SCAN: one worker thread, no rate limits, the route forwarding to the sink.
gateway_config() {
  cat <<EOF
server:
  listen: 127.0.0.1:$1
  threads: 1
  max_connections: 1000
  max_request_body_bytes: 16MiB
  read_header_timeout: 300s
  idle_timeout: 300s
  request_timeout: 300s
  http2: false
  shutdown_grace_period: 5s
tls:
  cert_file: $pki/tls.crt
  key_file: $pki/tls.key
  client_ca_file: $pki/ca.crt
  min_version: TLS1.2
tenant:
  source: subject_cn
  header: X-Scope-OrgID
limits:
  defaults:
    metrics: {samples_per_second: 0, burst_samples: 0}
    logs: {bytes_per_second: 0, burst_bytes: 0}
admin:
  listen: ""
routes:
  - {path: /api/v1/push, kind: prometheus_remote_write, upstream: sink, scan: $2}
  - {path: /loki/api/v1/push, kind: loki_push, upstream: sink, scan: $2}
upstreams:
  sink:
    url: http://127.0.0.1:$sink_port
    timeout: 300s
    max_idle_connections: 64
EOF
}

# nginx_config PORT: the same job as the gateway: verify the client certificate against the CA,
# take the tenant from its CN, hold the body in memory (no temp file), keep-alive to the sink.
nginx_config() {
  cat <<EOF
master_process off;
daemon off;
worker_processes 1;
error_log $work/nginx/logs/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 1024; }
http {
$(nginx_prefix nginx)
  access_log off;
  map \$ssl_client_s_dn \$tenant {
    default "";
    "~(^|,)CN=(?<cn>[^,]+)" \$cn;
  }
  upstream sink {
    server 127.0.0.1:$sink_port;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$1 ssl;
    ssl_certificate $pki/tls.crt;
    ssl_certificate_key $pki/tls.key;
    ssl_client_certificate $pki/ca.crt;
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    client_max_body_size 16m;
    client_body_buffer_size 16m;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    location ~ ^/(api/v1|loki/api/v1)/push\$ {
      if (\$tenant = "") { return 403; }
      proxy_pass http://sink;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Scope-OrgID \$tenant;
      proxy_read_timeout 300s;
      proxy_send_timeout 300s;
    }
  }
}
EOF
}

# measure SYSTEM N: start SYSTEM under callgrind, check the TLS suite, send N requests with ab,
# stop it; sets measured_ir to the total Ir. Profile in $work/SYSTEM-N.out.
measure() {
  local system=$1 n=$2 port cmd out=$work/$1-$2
  port=$(free_port)
  case $system in
    gateway-scan-off | gateway-scan-on)
      gateway_config "$port" "$([[ $system == gateway-scan-on ]] && echo true || echo false)" \
        >"$out.yaml"
      cmd=("$gateway_bin" "--config.file=$out.yaml" --log.level=warn)
      ;;
    nginx)
      nginx_config "$port" >"$out.conf"
      cmd=(nginx -p "$work/nginx" -c "$out.conf" -e "$work/nginx/logs/error.log")
      ;;
  esac
  valgrind --tool=callgrind --callgrind-out-file="$out.out" --log-file="$out.valgrind.log" \
    "${cmd[@]}" 2>"$out.stderr" &
  sut_pid=$!
  wait_listen "$sut_pid" "$port"
  # The suite our clients get (mla-physical-limit assumes TLS_AES_256_GCM_SHA384). Both runs
  # make this handshake, so it cancels out of the difference.
  timeout 120 openssl s_client -connect "127.0.0.1:$port" -cert "$pki/client.crt" \
    -key "$pki/client.key" -CAfile "$pki/ca.crt" -brief </dev/null >"$out.s_client" 2>&1 || true
  grep -m1 '^Ciphersuite:' "$out.s_client" | sed 's/^Ciphersuite: *//' >"$out.suite" ||
    die "$system: openssl s_client failed: $(cat "$out.s_client")"
  ab -k -n "$n" -c "$conc" -s 120 -E "$pki/client.pem" -p "$body" -T "$content_type" \
    "${headers[@]}" "https://127.0.0.1:$port$path" >"$out.ab" 2>&1 ||
    die "$system: ab failed: $(tail -5 "$out.ab")"
  stop "$sut_pid"
  sut_pid=""
  if ! grep -Eq "^Complete requests: +$n\$" "$out.ab" ||
    ! grep -Eq '^Failed requests: +0$' "$out.ab" || grep -q '^Non-2xx responses' "$out.ab"; then
    die "$system: not every request succeeded: $(grep -E 'requests|Non-2xx' "$out.ab")"
  fi
  measured_ir=$(sed -n 's/^totals: *//p' "$out.out")
  [[ $measured_ir =~ ^[0-9]+$ ]] || die "$system: no totals in $out.out"
}

read -r -a systems <<<"${SYSTEMS:-gateway-scan-off gateway-scan-on nginx}"
for system in "${systems[@]}"; do
  [[ $system =~ ^(gateway-scan-off|gateway-scan-on|nginx)$ ]] || die "unknown system '$system'"
done
declare -A ir1 ir2
started=$(date +%s)
for system in "${systems[@]}"; do
  for n in "$n1" "$n2"; do
    t0=$(date +%s)
    measure "$system" "$n"
    ir=$measured_ir
    if [[ $n == "$n1" ]]; then ir1[$system]=$ir; else ir2[$system]=$ir; fi
    echo "callgrind.sh: $system N=$n: $ir Ir ($(($(date +%s) - t0)) s," \
      "$(cat "$work/$system-$n.suite"))" >&2
  done
done
elapsed=$(($(date +%s) - started))

# --- results ------------------------------------------------------------------------------------

mkdir -p "$out_dir"
for system in "${systems[@]}"; do
  for n in "$n1" "$n2"; do
    callgrind_annotate --auto=no --threshold=100 "$work/$system-$n.out" >"$work/$system-$n.self.txt"
    callgrind_annotate --auto=no --threshold=100 --inclusive=yes "$work/$system-$n.out" \
      >"$work/$system-$n.incl.txt"
  done
done

CG_VALGRIND=$(valgrind --version)
CG_NGINX=$(nginx -v 2>&1 | sed 's/^nginx version: //')
CG_AB_TLS=$(sed -n 's/^SSL\/TLS Protocol: *//p' "$work/${systems[0]}-$n2.ab")
CG_GIT=$(git describe --always --dirty 2>/dev/null || echo unknown)
export CG_WORK=$work CG_N1=$n1 CG_N2=$n2 CG_CONC=$conc CG_OUT=$out_dir CG_BODY=$body_name \
  CG_BODY_BYTES=$body_bytes CG_ELAPSED=$elapsed CG_SYSTEMS="${systems[*]}" CG_VALGRIND CG_NGINX \
  CG_AB_TLS CG_GIT
for system in "${systems[@]}"; do
  export "CG_IR1_${system//-/_}=${ir1[$system]}" "CG_IR2_${system//-/_}=${ir2[$system]}" \
    "CG_SUITE_${system//-/_}=$(cat "$work/$system-$n2.suite")"
done
python3 - <<'EOF'
"""Per-request Ir of each system and of its top functions (N2 profile minus N1 profile)."""
import datetime, json, os, platform, re

env = os.environ
work, out_dir = env["CG_WORK"], env["CG_OUT"]
n1, n2 = int(env["CG_N1"]), int(env["CG_N2"])
systems = env["CG_SYSTEMS"].split()
TOP = 15
# callgrind_annotate lines: "1,234,567 (12.34%)  file:function [object]" (percentage and object
# optional). Costs are summed per function: inlined code is listed under the header it came from.
LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([\s\d.]+%\)\s+)?([^:\s][^:]*):(.+?)(?:\s+\[([^\]]*)\])?\s*$")


def functions(path, combine):
    """{function: Ir} from one callgrind_annotate listing. A function whose code comes from
    several files (inlining) is listed once per file: its self costs add up, while each of its
    inclusive lines already holds the calls it makes, so for those the largest is kept."""
    costs, started = {}, False
    with open(path) as f:
        for line in f:
            if "file:function" in line:  # the column header above the function list
                started = True
                continue
            m = LINE.match(line) if started else None
            if not m:
                continue
            name = m.group(3)
            if name.startswith("0x") and m.group(4):  # no symbol: say which library it is in
                name += " [" + os.path.basename(m.group(4)) + "]"
            cost = int(m.group(1).replace(",", ""))
            costs[name] = combine(costs.get(name, 0), cost)
    return costs


def per_request(system, kind):
    combine = (lambda x, y: x + y) if kind == "self" else max
    a = functions(f"{work}/{system}-{n1}.{kind}.txt", combine)
    b = functions(f"{work}/{system}-{n2}.{kind}.txt", combine)
    diff = {k: (b.get(k, 0) - a.get(k, 0)) / (n2 - n1) for k in set(a) | set(b)}
    return sorted(diff.items(), key=lambda kv: -kv[1])[:TOP]


def short(name, width=100):
    return name if len(name) <= width else name[: width - 3] + "..."


results = []
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), platform.processor())
for system in systems:
    key = system.replace("-", "_")
    ir1, ir2 = int(env[f"CG_IR1_{key}"]), int(env[f"CG_IR2_{key}"])
    per_req = (ir2 - ir1) / (n2 - n1)
    self_top, incl_top = per_request(system, "self"), per_request(system, "incl")
    results.append({"system": system, "tls_suite": env[f"CG_SUITE_{key}"], "ir_n1": ir1,
                    "ir_n2": ir2, "ir_per_request": per_req,
                    "ir_per_body_byte": per_req / int(env["CG_BODY_BYTES"]),
                    "top_self_per_request": [{"function": f, "ir": round(c)} for f, c in self_top]})
    with open(f"{out_dir}/callgrind-{system}.txt", "w") as f:
        f.write(f"# {system}: instructions per request under callgrind, body {env['CG_BODY']!r}"
                f" ({env['CG_BODY_BYTES']} B), ab -k -c {env['CG_CONC']}; per-function numbers are"
                f" (profile of N={n2}) - (profile of N={n1}), divided by {n2 - n1}."
                f" Generated by bench/callgrind.sh.\n"
                "# Valgrind counts each iteration of `rep movsb`/`rep stosb` as one instruction,"
                " so large memcpy/memset (__mem*_erms) show about 1 Ir per byte, far more than"
                " their share of time.\n")
        f.write(f"# total: {per_req:,.0f} Ir/request\n\n")
        for title, rows in (("self", self_top), ("inclusive", incl_top)):
            f.write(f"## top {TOP} functions by {title} Ir per request\n\n")
            for name, cost in rows:
                f.write(f"{cost:14,.0f} {100 * cost / per_req:6.1f}%  {short(name)}\n")
            f.write("\n")
        for kind, title in (("self", "self"), ("incl", "inclusive")):
            f.write(f"## callgrind_annotate{' --inclusive=yes' if kind == 'incl' else ''}"
                    f" of the N={n2} run (whole process: startup, handshakes, {n2} requests),"
                    f" first {TOP} functions\n\n")
            with open(f"{work}/{system}-{n2}.{kind}.txt") as src:
                lines = src.read().splitlines()
            start = next((i for i, l in enumerate(lines) if "file:function" in l), 0)
            body = [l for l in lines[start + 2:] if l.strip()][:TOP]
            f.write("\n".join(lines[:start + 2] + body) + "\n\n")

nginx = next((r["ir_per_request"] for r in results if r["system"] == "nginx"), None)
for r in results:
    r["ratio_to_nginx"] = r["ir_per_request"] / nginx if nginx else None
doc = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "command": "bash bench/callgrind.sh", "git": env["CG_GIT"], "cpu": cpu, "valgrind": env["CG_VALGRIND"],
       "nginx": env["CG_NGINX"], "body": env["CG_BODY"], "body_bytes": int(env["CG_BODY_BYTES"]),
       "n1": n1, "n2": n2, "concurrency": int(env["CG_CONC"]),
       "client": "ab -k (ApacheBench, not under valgrind), " + env["CG_AB_TLS"],
       "elapsed_seconds": int(env["CG_ELAPSED"]), "systems": results}
with open(f"{out_dir}/callgrind.json", "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")

print(f"\nInstructions per request (callgrind), body {env['CG_BODY']!r} {env['CG_BODY_BYTES']} B,"
      f" (Ir(N={n2}) - Ir(N={n1})) / {n2 - n1}:")
print(f"{'system':<18} {'Ir/request':>12} {'Ir/body byte':>13} {'vs nginx':>9}  TLS suite")
for r in results:
    print(f"{r['system']:<18} {r['ir_per_request']:>12,.0f} {r['ir_per_body_byte']:>13.2f}"
          f" {(format(r['ratio_to_nginx'], '.2f') + 'x') if r['ratio_to_nginx'] else '-':>9}"
          f"  {r['tls_suite']}")
print(f"\n{out_dir}/callgrind.json, {out_dir}/callgrind-*.txt ({doc['elapsed_seconds']} s)")
EOF
