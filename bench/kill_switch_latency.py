#!/usr/bin/env python3
"""How long a tenant disable takes to take effect, idle and under load (issue 6).

Starts an nginx sink (204 to everything), the release mla-gateway (2 worker threads, admin
listener and control socket) and, for the loaded runs, two mla-loadgen processes in closed loop:
one as tenant-a (the tenant being cut off: it keeps reconnecting and pushing while refused) and
one as tenant-b. Then, ROUNDS times: POST /api/v1/tenants/tenant-a/disable over the control
socket, and right after the answer one push as tenant-a on a new connection, which must get 503;
then enable, and a push that must get 200.

"Takes effect" is the disable call's duration: the gateway answers only once every worker refuses
the tenant (requests already waiting for their body included), so the call's duration bounds the
time from the operator's command to the data plane's refusal. The probe after each answer checks
that bound. Every process is started and stopped here, by PID; everything stops by itself.

Usage: python3 bench/kill_switch_latency.py [--rounds 30] [--load-seconds 40] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support import gateway as gw  # noqa: E402
from support import ingest  # noqa: E402
from support import pki as pki_mod  # noqa: E402

BIN = ROOT / "build" / "bin"


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 10.0):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def control(sock: str, path: str) -> tuple[int, float]:
    """POST PATH over the control socket; (status, seconds from connect to full answer)."""
    started = time.perf_counter()
    conn = UnixHTTPConnection(sock)
    conn.request("POST", path, body=b"")
    r = conn.getresponse()
    r.read()
    conn.close()
    return r.status, time.perf_counter() - started


def start_sink(run: Path) -> tuple[subprocess.Popen, int]:
    port = gw.free_port()
    (run / "sink-tmp").mkdir()
    conf = (ROOT / "bench/peers/sink.nginx.conf.in").read_text()
    for key, value in {"SINK_LOAD_MODULE": "", "RUN_DIR": str(run), "SINK_PORT": str(port),
                       "SINK_BODY_MODE": "discard", "SINK_BODY": "      return 204;"}.items():
        conf = conf.replace(f"@{key}@", value)
    (run / "sink.conf").write_text(conf)
    proc = subprocess.Popen(gw.orphan_guard() + ["nginx", "-c", str(run / "sink.conf"), "-p",
                                                 str(run), "-g", "daemon off;"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    gw.wait_until(lambda: _port_open(port), timeout=10, what="nginx sink listening")
    return proc, port


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def loadgen(port: int, leaf: pki_mod.Leaf, ca: str, seconds: int, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        gw.orphan_guard() + [str(BIN / "mla-loadgen"), f"--target=127.0.0.1:{port}",
                             "--server-name=localhost", f"--cert={leaf.cert_file}",
                             f"--key={leaf.key_file}", f"--ca={ca}", "--payload=rw1",
                             "--series=500", "--mode=closed", "--connections=16",
                             f"--duration={seconds}s", "--warmup=1s", "--quiet",
                             f"--json-out={out}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(g: gw.Gateway, sock: str, pki: pki_mod.TestPki, rounds: int) -> dict:
    ctx_a = gw.client_context(pki, "tenant-a")
    disable, enable, wrong = [], [], []
    for i in range(rounds):
        status, seconds = control(sock, "/api/v1/tenants/tenant-a/disable")
        assert status == 200, status
        disable.append(seconds)
        probe = ingest.push_remote_write(g.port, ctx_a, ingest.samples_body(10))
        if probe.status != 503:
            wrong.append(f"round {i}: push after disable got {probe.status}")
        time.sleep(0.3)
        status, seconds = control(sock, "/api/v1/tenants/tenant-a/enable")
        assert status == 200, status
        enable.append(seconds)
        probe = ingest.push_remote_write(g.port, ctx_a, ingest.samples_body(10))
        if not 200 <= probe.status < 300:
            wrong.append(f"round {i}: push after enable got {probe.status}")
        time.sleep(0.3)
    return {"disable": disable, "enable": enable, "wrong": wrong}


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(name: str, result: dict, load: str) -> str:
    d, e = result["disable"], result["enable"]
    return (f"| {name} | {load} | {len(d)} | {1000 * statistics.median(d):.2f} | {ms(d, 0.9):.2f} "
            f"| {1000 * max(d):.2f} | {1000 * statistics.median(e):.2f} | "
            f"{len(d) - sum('disable' in w for w in result['wrong'])}/{len(d)} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--load-seconds", type=int, default=40)
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args()
    for tool in ("mla-gateway", "mla-loadgen"):
        if not (BIN / tool).exists():
            print(f"{BIN / tool} missing: bash scripts/build.sh release mla-gateway mla-loadgen",
                  file=sys.stderr)
            return 1

    run = Path(tempfile.mkdtemp(prefix="ks-"))
    procs: list[subprocess.Popen] = []
    pool = None
    try:
        pki = pki_mod.build_test_pki(run / "pki")
        sink, sink_port = start_sink(run)
        procs.append(sink)
        sock = str(run / "c.sock")
        config = gw.gateway_config(
            pki, gw.free_port(), {"cortex": f"http://127.0.0.1:{sink_port}",
                                  "loki": f"http://127.0.0.1:{sink_port}"},
            server={"threads": 2},
            admin={"listen": f"127.0.0.1:{gw.free_port()}", "socket": sock,
                   "state_file": str(run / "state.json")})
        # No rate limits (0): the load must reach the upstream, not stop at the token buckets.
        config["limits"] = {"defaults": {"metrics": {"samples_per_second": 0, "burst_samples": 0}}}
        pool = gw.GatewayPool(str(BIN / "mla-gateway"), run, pki)
        g = pool.start({}, raw_config=gw.to_yaml(config) + "\n", log_level="error")
        rows = []
        idle = measure(g, sock, pki, args.rounds)
        rows.append(summary("idle", idle, "none"))

        outs = [run / "load-a.json", run / "load-b.json"]
        loads = [loadgen(g.port, pki.client("tenant-a"), pki.ca.cert_file, args.load_seconds,
                         outs[0]),
                 loadgen(g.port, pki.client("tenant-b"), pki.ca.cert_file, args.load_seconds,
                         outs[1])]
        procs += loads
        time.sleep(3)  # connections up, the gateway busy
        started = time.monotonic()
        loaded = measure(g, sock, pki, args.rounds)
        took = time.monotonic() - started
        for p in loads:
            p.wait(timeout=args.load_seconds + 60)
        stats = [json.loads(o.read_text()) for o in outs]
        load = (f"2 x mla-loadgen (16 conns, 500 samples/req): tenant-b "
                f"{stats[1]['ok'] / stats[1]['duration_s']:.0f} ok req/s, tenant-a "
                f"{stats[0]['requests'] / stats[0]['duration_s']:.0f} req/s "
                f"(codes {stats[0]['responses']})")
        rows.append(summary("loaded", loaded, load))
        table = "\n".join([
            "| run | load | rounds | disable p50 ms | p90 ms | max ms | enable p50 ms | "
            "refused right after the answer |",
            "|---|---|---|---|---|---|---|---|", *rows])
        text = (f"{table}\n\nloaded rounds took {took:.1f}s; wrong answers: "
                f"{idle['wrong'] + loaded['wrong'] or 'none'}\n")
        print(text)
        if args.markdown:
            Path(args.markdown).write_text(text)
        return 0 if not (idle["wrong"] or loaded["wrong"]) else 1
    finally:
        if pool is not None:
            pool.stop_all()
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(run, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
