#!/usr/bin/env python3
"""Rows, latest.json and RESULTS.md for bench/run.sh (see bench/README.md).

    report.py row --out FILE --id ID --goal G --system S --tool T [--loadgen-json F] [--watch F]
                  [--snap NAME=F]... [--ab-output F] [--physical-json F] [--command C]
                  [--set KEY=VALUE]...
    report.py finish --results DIR --latest FILE --markdown FILE
    report.py markdown --latest FILE --markdown FILE      (re-render RESULTS.md only)

`row` turns one measurement into one JSON file: the load generator's own JSON (or ab's output),
plus CPU and memory of the system under test (SUT), the sink and the load generator over the
measured window, taken from procstat.py samples. The window is the last `duration_s` seconds
before the load generator exited (its warm-up and connection set-up come first and are left
out); the values are interpolated between samples taken every 0.25 s.

Per-core numbers: "requests/s per core" = requests/s ÷ the SUT's CPU use in cores over the
window, which equals requests ÷ SUT CPU seconds when both cover the same window and stays right
when other processes take part of CPU 0 (this machine is shared).

A row is "loadgen-bound" when the load generator used ≥ 95% of its core, or its busiest thread
was running or waiting to run ≥ 95% of the window (on a shared core it can be the bottleneck
without getting 95% of it); such a row says nothing about the SUT's limit.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys

LOADGEN_BOUND = 0.95
SATURATED = 0.95
SYSTEM_ORDER = ["mla-gateway", "nginx", "nginx-kkp", "haproxy", "mla-physical-limit"]
GOAL_ORDER = ["P1", "H2", "AB", "P2", "PHYS", "P3", "P4", "P5", "P6", "P7"]
H2_SYSTEMS = ["mla-gateway", "nginx", "haproxy"]  # the systems of the H2 rows (run.sh)


# --- row ---------------------------------------------------------------------------------------

def _interp(series: list[tuple[float, float]], t: float) -> float:
    if t <= series[0][0]:
        return series[0][1]
    for (t0, v0), (t1, v1) in zip(series, series[1:]):
        if t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return series[-1][1]


def window_stats(watch: dict, duration: float | None) -> dict:
    samples = watch["samples"]
    t_end = watch.get("exit_t") or samples[-1]["t"]
    t_start = samples[0]["t"] if duration is None else max(samples[0]["t"], t_end - duration)
    out: dict = {"procs": {}}
    for name in samples[0]["procs"]:
        alive = [s for s in samples if s["procs"][name]["alive"]]
        if len(alive) < 2:
            continue
        ts, te = max(t_start, alive[0]["t"]), min(t_end, alive[-1]["t"])
        if te - ts < 0.05:
            continue
        cpu = [(s["t"], s["procs"][name]["cpu_s"]) for s in alive]
        busiest = 0.0
        tids = set().union(*(s["procs"][name]["threads"] for s in alive))
        for tid in tids:
            series = [(s["t"], sum(s["procs"][name]["threads"][tid])) for s in alive
                      if tid in s["procs"][name]["threads"]]
            if len(series) >= 2 and series[0][0] <= ts + 0.3 and series[-1][0] >= te - 0.3:
                busy = (_interp(series, te) - _interp(series, ts)) / 1e9 / (te - ts)
                busiest = max(busiest, busy)
        last = alive[-1]["procs"][name]
        cpu_seconds = _interp(cpu, te) - _interp(cpu, ts)
        out["procs"][name] = {
            "window_s": round(te - ts, 3),
            "cpu_seconds": round(cpu_seconds, 3),
            "cpu_util": round(cpu_seconds / (te - ts), 4),
            "busiest_thread_busy": round(min(busiest, 1.5), 4),
            "rss_kb": last["rss_kb"],
            "hwm_kb": max(s["procs"][name]["hwm_kb"] for s in alive),
            "pids": last["pids"],
        }
    out["window_s"] = round(t_end - t_start, 3)
    cpus = {}
    for cpu_name in samples[0]["cpus"]:
        busy = [(s["t"], s["cpus"][cpu_name]["busy"]) for s in samples]
        total = [(s["t"], s["cpus"][cpu_name]["total"]) for s in samples]
        dt = _interp(total, t_end) - _interp(total, t_start)
        if dt > 0:
            cpus[cpu_name] = round((_interp(busy, t_end) - _interp(busy, t_start)) / dt, 4)
    out["cpu_busy"] = cpus
    first, last = samples[0]["netstat"], samples[-1]["netstat"]
    out["netstat"] = {k: last[k] - first.get(k, 0) for k in last}
    return out


def parse_ab(text: str) -> dict:
    def num(pattern: str, default=None):
        m = re.search(pattern, text, re.M)
        return float(m.group(1)) if m else default

    out = {
        "requests": num(r"^Complete requests:\s+(\d+)", 0),
        "failed": num(r"^Failed requests:\s+(\d+)", 0),
        "non_2xx": num(r"^Non-2xx responses:\s+(\d+)", 0),
        "requests_per_second": num(r"^Requests per second:\s+([\d.]+)"),
        "wall_seconds": num(r"^Time taken for tests:\s+([\d.]+)"),
        "latency_ms": {},
    }
    for pct, ms in re.findall(r"^\s+(\d+)%\s+(\d+)", text, re.M):
        out["latency_ms"]["p" + pct] = float(ms)
    return out


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _load(path: str | None):
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def cmd_row(args: argparse.Namespace) -> int:
    row: dict = {"id": args.id, "goal": args.goal, "system": args.system, "tool": args.tool}
    if args.command:
        row["command"] = args.command
    for item in args.set or []:
        key, _, value = item.partition("=")
        row[key] = _value(value)
    try:
        lg = _load(args.loadgen_json)
    except ValueError as e:
        lg = None
        row.setdefault("error", f"unreadable load generator JSON: {e}")
    if lg is not None:
        row["loadgen"] = lg
    if args.ab_output and os.path.exists(args.ab_output):
        with open(args.ab_output, encoding="utf-8", errors="replace") as f:
            row["ab"] = parse_ab(f.read())
    phys = _load(args.physical_json)
    if phys is not None:
        row["physical"] = phys
    watch = _load(args.watch)
    if watch and watch.get("samples"):
        duration = None
        if lg and isinstance(lg.get("duration_s"), (int, float)) and lg["duration_s"] > 0:
            duration = float(lg["duration_s"])
        row["measured"] = window_stats(watch, duration)
    snaps = {}
    for item in args.snap or []:
        name, _, path = item.partition("=")
        snaps[name] = _load(path)
    if snaps:
        row["snaps"] = {n: {k: v for k, v in (s or {}).get("procs", {}).get("sut", {}).items()
                            if k != "threads"} for n, s in snaps.items()}
    row["derived"] = derive(row)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(row, f, indent=2)
    return 0


def derive(row: dict) -> dict:
    d: dict = {}
    procs = row.get("measured", {}).get("procs", {})
    sut, lgp, sink = procs.get("sut"), procs.get("loadgen"), procs.get("sink")
    if sut:
        d["sut_cores"] = sut["cpu_util"]
        d["sut_saturated"] = sut["busiest_thread_busy"] >= SATURATED
        cpu0 = row["measured"]["cpu_busy"].get("cpu0")
        if cpu0 is not None:
            d["others_on_cpu0"] = round(max(0.0, cpu0 - sut["cpu_util"]), 3)
    if lgp:
        d["loadgen_cores"] = lgp["cpu_util"]
        d["loadgen_busy"] = lgp["busiest_thread_busy"]
        d["loadgen_bound"] = max(lgp["cpu_util"], lgp["busiest_thread_busy"]) >= LOADGEN_BOUND
    if sink:
        d["sink_cores"] = sink["cpu_util"]
    cores = sut["cpu_util"] if sut and sut["cpu_util"] > 0.01 else None
    lg = row.get("loadgen") or {}
    ab = row.get("ab") or {}
    src = lg if lg else ({"requests_per_second": ab.get("requests_per_second")} if ab else {})
    for key, out in (("requests_per_second", "requests_per_core"),
                     ("samples_per_second", "samples_per_core"),
                     ("lines_per_second", "lines_per_core"),
                     ("mb_per_second", "mb_per_core"),
                     ("handshakes_per_second", "handshakes_per_core")):
        v = src.get(key)
        if isinstance(v, (int, float)):
            d[key] = v
            if cores:
                d[out] = round(v / cores, 2)
    if lg:
        responses = lg.get("responses") or {}
        d["non_2xx"] = sum(int(n) for code, n in responses.items() if not str(code).startswith("2"))
        d["errors"] = sum(int(n) for n in (lg.get("errors") or {}).values()
                          if isinstance(n, (int, float)))
        d["refused"] = int(lg.get("refused_requests") or 0)  # HTTP/2, not failures
        lat = lg.get("latency_us") or {}
        for p in ("p50", "p90", "p99", "p999", "max"):
            if isinstance(lat.get(p), (int, float)):
                d[p + "_ms"] = round(lat[p] / 1000.0, 3)
    if ab:
        d["non_2xx"] = int(ab.get("non_2xx") or 0)
        d["errors"] = int(ab.get("failed") or 0)
        for p in ("50", "90", "99"):
            if "p" + p in ab.get("latency_ms", {}):
                d[f"p{p}_ms"] = ab["latency_ms"]["p" + p]
    snaps = row.get("snaps") or {}
    n = row.get("idle_established")
    if "before" in snaps and "held" in snaps and isinstance(n, int) and n > 0:
        d["rss_before_kib"] = snaps["before"].get("rss_kb")
        d["rss_held_kib"] = snaps["held"].get("rss_kb")
        d["kib_per_connection"] = round((d["rss_held_kib"] - d["rss_before_kib"]) / n, 2)
    return d


# --- finish: latest.json and RESULTS.md ----------------------------------------------------------

def _row_key(row: dict):
    goal = GOAL_ORDER.index(row["goal"]) if row["goal"] in GOAL_ORDER else 99
    system = SYSTEM_ORDER.index(row["system"]) if row["system"] in SYSTEM_ORDER else 99
    return (goal, system, row["id"])


def _get(rows: dict, rid: str, key: str):
    row = rows.get(rid)
    if not row or row.get("error"):
        return None
    return row.get("derived", {}).get(key)


def _bound(rows: dict, *rids: str) -> list[str]:
    return [r for r in rids if rows.get(r, {}).get("derived", {}).get("loadgen_bound")]


def _ratio(a, b):
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def _physical(rows: dict, body: str, key: str):
    phys = (rows.get("physical-limit") or {}).get("physical") or {}
    for entry in phys.get("bodies", []):
        if entry.get("body") == body and isinstance(entry.get(key), (int, float)):
            return entry[key]
    return None


NOISY = 0.25  # others used this much of CPU 0 in a row: its numbers are mostly the machine's


def _noise(rows: dict, *rids: str) -> float:
    return max([rows.get(r, {}).get("derived", {}).get("others_on_cpu0") or 0.0 for r in rids] + [0])


def evaluate(rows: dict) -> list[dict]:
    goals = []

    def add(goal, workload, target, measured, ok, involved, extra=""):
        if ok is None:
            status = "n/a"
        else:
            status = "met" if ok else "not met"
            bound = _bound(rows, *involved)
            if bound:
                status += " (inconclusive: loadgen-bound " + ", ".join(bound) + ")"
            noise = _noise(rows, *involved)
            if noise >= NOISY:
                status += f" (noisy: others used up to {noise:.0%} of CPU 0)"
        goals.append({"goal": goal, "workload": workload, "target": target,
                      "measured": measured + extra, "status": status})

    gw, ng, hp, kkp = (_get(rows, f"P1-{s}", "requests_per_core")
                       for s in ("mla-gateway", "nginx", "haproxy", "nginx-kkp"))
    rn, rh, rk = _ratio(gw, ng), _ratio(gw, hp), _ratio(gw, kkp)
    measured = ", ".join(f"{r:.2f}× {name}" for r, name in ((rn, "nginx"), (rh, "HAProxy"),
                                                           (rk, "nginx-kkp")) if r is not None)
    add("P1", "remote-write 1.0, 2,000 samples, 64 keep-alive connections, scan off",
        "requests/s per core ≥ 1.5× nginx and ≥ 1.3× HAProxy", measured or "—",
        None if rn is None or rh is None else (rn >= 1.5 and rh >= 1.3),
        ["P1-mla-gateway", "P1-nginx", "P1-haproxy"])

    s2 = _get(rows, "P2-mla-gateway", "samples_per_core")
    ph = _physical(rows, "rw-v1 2000x1", "samples_per_second")
    r2 = _ratio(s2, ph)
    add("P2", "the same with inspection and limits on", "samples/s per core ≥ 80% of the physical limit",
        f"{r2:.0%} ({s2:,.0f} vs {ph:,.0f} samples/s)" if r2 is not None else "—",
        None if r2 is None else r2 >= 0.8, ["P2-mla-gateway"])

    p3g, p3n, p3h = (_get(rows, f"P3-{s}", "p99_ms") for s in ("mla-gateway", "nginx", "haproxy"))
    measured = "—"
    if p3g is not None and p3n is not None:
        measured = f"p99 {p3g:.2f} ms vs nginx {p3n:.2f} ms"
        if p3h is not None:
            measured += f", HAProxy {p3h:.2f} ms"
    add("P3", "open loop at 50% of nginx's max rate", "gateway p99 ≤ nginx p99", measured,
        None if p3g is None or p3n is None else p3g <= p3n,
        ["P3-mla-gateway", "P3-nginx", "P3-haproxy"])

    k4g, k4n, k4h = (_get(rows, f"P4-{s}", "kib_per_connection")
                     for s in ("mla-gateway", "nginx", "haproxy"))
    measured = "—"
    if k4g is not None:
        measured = f"{k4g:.1f} KiB/conn" + (f" vs nginx {k4n:.1f}" if k4n is not None else "")
        if k4h is not None:
            measured += f", HAProxy {k4h:.1f}"
        held = rows.get("P4-mla-gateway", {}).get("idle_established")
        if isinstance(held, int):
            measured += f" ({held:,} connections)"
    add("P4", "10,000 idle mTLS connections", "RSS per connection ≤ nginx's and ≤ 48 KiB", measured,
        None if k4g is None or k4n is None else (k4g <= k4n and k4g <= 48), [])

    h5g, h5n, h5h = (_get(rows, f"P5-{s}", "handshakes_per_core")
                     for s in ("mla-gateway", "nginx", "haproxy"))
    r5 = _ratio(h5g, h5n)
    measured = f"{r5:.2f}× nginx per core" if r5 is not None else "—"
    if _ratio(h5g, h5h) is not None:
        measured += f", {_ratio(h5g, h5h):.2f}× HAProxy"
    add("P5", "handshake mode (new connection per request)", "handshakes/s (per core) ≥ nginx's",
        measured, None if r5 is None else r5 >= 1.0, ["P5-mla-gateway", "P5-nginx"])

    t6 = _get(rows, "P6-mla-gateway-tenants", "requests_per_second")
    s6 = _get(rows, "P6-mla-gateway-single", "requests_per_second")
    r6 = _ratio(t6, s6)
    c6 = _ratio(_get(rows, "P6-mla-gateway-tenants", "requests_per_core"),
                _get(rows, "P6-mla-gateway-single", "requests_per_core"))
    held = (rows.get("P6-mla-gateway-tenants", {}).get("loadgen") or {}).get("connections")
    if r6 is not None and isinstance(held, int):
        c6_text = f"{c6:.0%} per core, " if c6 else ""
        r6_text = f"{r6:.0%} of single-tenant requests/s ({c6_text}{held:,} connections)"
    else:
        r6_text = None
    add("P6", "10,000 distinct tenants vs 1 tenant, same connection count",
        "throughput ≥ 95% of the single-tenant run",
        r6_text or (f"{r6:.0%} of single-tenant requests/s" if r6 is not None else "—"),
        None if r6 is None else r6 >= 0.95,
        ["P6-mla-gateway-tenants", "P6-mla-gateway-single"])

    m7 = _get(rows, "P7-mla-gateway", "mb_per_core")
    ph7 = _physical(rows, "loki-proto 1MiB", "mb_per_second")
    r7 = _ratio(m7, ph7)
    add("P7", "Loki push, 1 MiB protobuf+snappy, inspection on",
        "MB/s per core ≥ 80% of the physical limit",
        f"{r7:.0%} ({m7:,.0f} vs {ph7:,.0f} MB/s)" if r7 is not None else "—",
        None if r7 is None else r7 >= 0.8, ["P7-mla-gateway"])
    return goals


def cmd_finish(args: argparse.Namespace) -> int:
    meta = _load(os.path.join(args.results, "meta.json")) or {}
    notes_path = os.path.join(args.results, "notes.txt")
    notes = []
    if os.path.exists(notes_path):
        with open(notes_path, encoding="utf-8") as f:
            notes = [ln.strip() for ln in f if ln.strip()]
    rows = []
    for path in glob.glob(os.path.join(args.results, "*.json")):
        if os.path.basename(path) == "meta.json":
            continue
        row = _load(path)
        if row and "id" in row:
            rows.append(row)
    rows.sort(key=_row_key)
    by_id = {r["id"]: r for r in rows}
    latest = {"meta": meta, "results_dir": os.path.relpath(args.results, os.path.dirname(
        os.path.abspath(args.latest))), "notes": notes, "goals": evaluate(by_id), "rows": rows}
    with open(args.latest, "w", encoding="utf-8") as f:
        json.dump(latest, f, indent=2)
    write_markdown(latest, args.markdown)
    return 0


def cmd_markdown(args: argparse.Namespace) -> int:
    latest = _load(args.latest)
    if latest is None:
        print(f"report.py: {args.latest} missing", file=sys.stderr)
        return 1
    write_markdown(latest, args.markdown)
    return 0


def _f(v, digits=0, suffix=""):
    if not isinstance(v, (int, float)):
        return "—"
    return f"{v:,.{digits}f}{suffix}"


def _flags(row: dict) -> str:
    d = row.get("derived", {})
    flags = []
    if row.get("error"):
        flags.append(str(row["error"]))
    if d.get("loadgen_bound"):
        flags.append("**loadgen-bound**")
    if d.get("sut_saturated"):
        flags.append("SUT saturated")
    if (d.get("others_on_cpu0") or 0) >= 0.05:
        flags.append(f"others used {d['others_on_cpu0']:.0%} of CPU 0")
    if d.get("non_2xx"):
        flags.append(f"{d['non_2xx']} non-2xx")
    if d.get("errors"):
        flags.append(f"{d['errors']} errors")
    if d.get("refused"):
        flags.append(f"{d['refused']} refused by the server (HTTP/2 REFUSED_STREAM/GOAWAY)")
    if row.get("temp_file_warnings"):
        flags.append(f"{row['temp_file_warnings']} bodies to temp files")
    return "; ".join(flags)


def http2_section(by_id: dict) -> list[str]:
    """HTTP/2 (H2 rows) beside HTTP/1.1 (P1 rows), one line per system: the same body and 64
    requests in flight, carried by 8 connections × 8 streams instead of 64 connections."""
    present = [s for s in H2_SYSTEMS if f"H2-{s}" in by_id]
    if not present:
        return []
    lines = ["## HTTP/2 beside HTTP/1.1 (H2 vs P1)", "",
             "| system | HTTP/1.1 req/s per core (P1) | HTTP/2 req/s per core (H2) | H2 / P1 "
             "| HTTP/2 per core × nginx | HTTP/2 p50 / p99 ms | H2 connections × streams | flags |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    for s in present:
        h2 = by_id[f"H2-{s}"]
        d = h2.get("derived", {})
        p1 = _get(by_id, f"P1-{s}", "requests_per_core")
        mine = _get(by_id, f"H2-{s}", "requests_per_core")
        r = _ratio(mine, p1)
        rn = _ratio(mine, _get(by_id, "H2-nginx", "requests_per_core"))
        lg = h2.get("loadgen") or {}
        shape = (f"{lg['connections']} × {lg.get('streams', 1)}"
                 if isinstance(lg.get("connections"), int) else "—")
        lines.append(
            f"| {s} | {_f(p1)} | {_f(mine)} | {f'{r:.2f}×' if r is not None else '—'} | "
            f"{f'{rn:.2f}×' if rn is not None else '—'} | "
            f"{_f(d.get('p50_ms'), 2)} / {_f(d.get('p99_ms'), 2)} | {shape} | {_flags(h2)} |")
    lines += ["", "Same remote-write body and 64 requests in flight as P1; `mla-loadgen --http2` "
              "offers ALPN h2 only (a server that does not select it fails the row), and every "
              "system still speaks HTTP/1.1 to the sink.", ""]
    return lines


def write_markdown(latest: dict, path: str) -> None:
    meta = latest.get("meta", {})
    m = meta.get("machine", {})
    rows = latest.get("rows", [])
    by_id = {r["id"]: r for r in rows}
    lines = [
        "# Benchmark results",
        "",
        "Generated by `bench/report.py` from the run in "
        f"`bench/results/{os.path.basename(latest.get('results_dir', ''))}/` "
        "(also `bench/results/latest.json`); do not edit by hand: run `bash bench/run.sh`. "
        "How it is measured and what each row means: [README.md](README.md).",
        "",
    ]
    if meta.get("quick"):
        lines += ["> **`--quick` smoke run**: 1 s per row and 300 instead of 10,000 connections. "
                  "It checks the harness; its numbers are not a measurement.", ""]
    versions = meta.get("versions", {})
    params = meta.get("parameters", {})
    lines += [
        f"- **Date**: {meta.get('started_utc', '?')} (took {meta.get('wall_seconds', '?')} s)",
        f"- **Command**: `{meta.get('command', '?')}`",
        f"- **Machine**: {m.get('cpu_model', '?')}, {m.get('cpus', '?')} CPUs, "
        f"{m.get('memory_gib', '?')} GiB, Linux {m.get('kernel', '?')}; load average "
        f"{' '.join(m.get('loadavg_start', []))} at the start, "
        f"{' '.join(m.get('loadavg_end', []))} at the end",
        f"- **Placement**: {meta.get('pinning', '?')}; {meta.get('network', '?')}",
        f"- **Software**: {versions.get('mla-gateway', '?')}; {versions.get('nginx', '?')}; "
        f"{versions.get('haproxy', '?')}; {versions.get('openssl', '?')}; "
        f"sink body mode `{meta.get('sink_mode', '?')}`",
        f"- **Per row**: {params.get('warmup', '?')} warm-up, then {params.get('duration_s', '?')} s "
        f"measured; {params.get('connections', '?')} connections unless stated",
        "",
    ]
    if latest.get("notes"):
        lines += ["Notes from this run:", ""] + [f"- {n}" for n in latest["notes"]] + [""]

    lines += ["## Goals (issue 5)", "", "| # | workload | goal | measured | status |",
              "|---|---|---|---|---|"]
    for g in latest.get("goals", []):
        lines.append(f"| {g['goal']} | {g['workload']} | {g['target']} | {g['measured']} | "
                     f"{g['status']} |")
    lines += ["", "Per core = the rate ÷ the CPU the system under test used over the measured "
              "window (its whole process tree, from `/proc/PID/stat`). A **loadgen-bound** row "
              "measured the load generator, not the system under test. **noisy**: other "
              f"processes used ≥ {NOISY:.0%} of CPU 0 during a row the goal relies on; rates and "
              "latencies then say more about the machine than about the systems, per-core "
              "numbers less so.", ""]

    def ratio_to(rid_prefix: str, key: str, row: dict):
        ref = _get(by_id, rid_prefix + "nginx", key)
        mine = row.get("derived", {}).get(key)
        r = _ratio(mine, ref)
        return f"{r:.2f}×" if r is not None else "—"

    tput = [r for r in rows if r["goal"] in ("P1", "H2", "P2", "P6", "P7")]
    if tput:
        lines += ["## Throughput (P1, H2, P2, P6, P7)", "",
                  "| row | req/s | samples/s | MB/s | SUT cores | req/s per core | per core × nginx "
                  "| p50 ms | p99 ms | loadgen cores | sink cores | flags |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for r in tput:
            d = r.get("derived", {})
            lines.append(
                f"| {r['id']} | {_f(d.get('requests_per_second'))} | "
                f"{_f(d.get('samples_per_second'))} | {_f(d.get('mb_per_second'), 1)} | "
                f"{_f(d.get('sut_cores'), 2)} | {_f(d.get('requests_per_core'))} | "
                f"{ratio_to(r['goal'] + '-', 'requests_per_core', r)} | "
                f"{_f(d.get('p50_ms'), 2)} | {_f(d.get('p99_ms'), 2)} | "
                f"{_f(d.get('loadgen_cores'), 2)} | {_f(d.get('sink_cores'), 2)} | {_flags(r)} |")
        lines.append("")

    lines += http2_section(by_id)

    cross = [r for r in rows if r["goal"] == "AB"]
    if cross:
        lines += ["## Cross-check: ApacheBench on the P1 rows", "",
                  "| system | ab req/s | ab req/s per core | mla-loadgen req/s | mla-loadgen req/s "
                  "per core | ab / mla-loadgen (per core) | ab p50 / p99 ms | flags |",
                  "|---|---:|---:|---:|---:|---:|---:|---|"]
        for r in cross:
            d = r.get("derived", {})
            p1 = by_id.get("P1-" + r["system"], {}).get("derived", {})
            rr = _ratio(d.get("requests_per_core"), p1.get("requests_per_core"))
            lines.append(
                f"| {r['system']} | {_f(d.get('requests_per_second'))} | "
                f"{_f(d.get('requests_per_core'))} | {_f(p1.get('requests_per_second'))} | "
                f"{_f(p1.get('requests_per_core'))} | {f'{rr:.2f}' if rr else '—'} | "
                f"{_f(d.get('p50_ms'))} / {_f(d.get('p99_ms'))} | {_flags(r)} |")
        lines += ["", "`ab -k -c 64 -t DURATION -E client.pem` with a body of the same size, run "
                  "with an `LD_PRELOAD` shim that sets TCP_NODELAY (`bench/tools/"
                  "nodelay_preload.c`; without it ab stalls 40 ms per request, see README.md).", ""]

    lat = [r for r in rows if r["goal"] == "P3"]
    if lat:
        lines += ["## Latency, open loop (P3)", "",
                  "| row | target req/s | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms "
                  "| max ms | SUT cores | flags |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for r in lat:
            d = r.get("derived", {})
            lines.append(
                f"| {r['id']} | {_f((r.get('loadgen') or {}).get('rate'))} | "
                f"{_f(d.get('requests_per_second'))} | {_f(d.get('p50_ms'), 2)} | "
                f"{_f(d.get('p90_ms'), 2)} | {_f(d.get('p99_ms'), 2)} | {_f(d.get('p999_ms'), 2)} | "
                f"{_f(d.get('max_ms'), 2)} | {_f(d.get('sut_cores'), 2)} | {_flags(r)} |")
        lines.append("")

    idle = [r for r in rows if r["goal"] == "P4"]
    if idle:
        lines += ["## Idle connections (P4)", "",
                  "| row | connections held | RSS before (MiB) | RSS held (MiB) | KiB per connection "
                  "| × nginx | flags |", "|---|---:|---:|---:|---:|---:|---|"]
        for r in idle:
            d = r.get("derived", {})
            lines.append(
                f"| {r['id']} | {_f(r.get('idle_established'))} | "
                f"{_f((d.get('rss_before_kib') or 0) / 1024 if d.get('rss_before_kib') else None, 1)} | "
                f"{_f((d.get('rss_held_kib') or 0) / 1024 if d.get('rss_held_kib') else None, 1)} | "
                f"{_f(d.get('kib_per_connection'), 1)} | "
                f"{ratio_to('P4-', 'kib_per_connection', r)} | {_flags(r)} |")
        lines += ["", "RSS = VmRSS summed over the process tree (nginx: master + worker); per "
                  "connection = (RSS with the connections held − RSS before) ÷ connections.", ""]

    hs = [r for r in rows if r["goal"] == "P5"]
    if hs:
        lines += ["## Handshakes (P5)", "",
                  "| row | handshakes/s | SUT cores | handshakes/s per core | per core × nginx | "
                  "p99 ms | flags |", "|---|---:|---:|---:|---:|---:|---|"]
        for r in hs:
            d = r.get("derived", {})
            lines.append(
                f"| {r['id']} | {_f(d.get('handshakes_per_second'))} | {_f(d.get('sut_cores'), 2)} | "
                f"{_f(d.get('handshakes_per_core'))} | "
                f"{ratio_to('P5-', 'handshakes_per_core', r)} | {_f(d.get('p99_ms'), 2)} | "
                f"{_flags(r)} |")
        lines.append("")

    phys = by_id.get("physical-limit")
    if phys:
        lines += ["## Physical limit (`mla-physical-limit --json`, CPU 0)", ""]
        bodies = (phys.get("physical") or {}).get("bodies", [])
        if bodies:
            lines += ["| body | samples/s | MB/s |", "|---|---:|---:|"]
            for b in bodies:
                lines.append(f"| {b.get('body')} | {_f(b.get('samples_per_second'))} | "
                             f"{_f(b.get('mb_per_second'), 1)} |")
        elif phys.get("error"):
            lines.append(f"Not measured: {phys['error']}")
        lines.append("")

    lines += ["## All rows (raw)", "",
              "| row | tool | window s | SUT CPU s | SUT peak RSS MiB | delayed ACKs | command |",
              "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        meas = r.get("measured", {})
        sut = meas.get("procs", {}).get("sut", {})
        cmd = str(r.get("command", "")).replace("|", "\\|")
        if len(cmd) > 160:
            cmd = cmd[:157] + "..."
        lines.append(
            f"| {r['id']} | {r.get('tool')} | {_f(sut.get('window_s'), 2)} | "
            f"{_f(sut.get('cpu_seconds'), 2)} | "
            f"{_f(sut['hwm_kb'] / 1024 if sut.get('hwm_kb') else None, 1)} | "
            f"{_f(meas.get('netstat', {}).get('DelayedACKs'))} | `{cmd}` |")
    lines.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("row")
    r.add_argument("--out", required=True)
    r.add_argument("--id", required=True)
    r.add_argument("--goal", required=True)
    r.add_argument("--system", required=True)
    r.add_argument("--tool", required=True)
    r.add_argument("--loadgen-json")
    r.add_argument("--watch")
    r.add_argument("--snap", action="append")
    r.add_argument("--ab-output")
    r.add_argument("--physical-json")
    r.add_argument("--command")
    r.add_argument("--set", action="append")
    f = sub.add_parser("finish")
    f.add_argument("--results", required=True)
    f.add_argument("--latest", required=True)
    f.add_argument("--markdown", required=True)
    m = sub.add_parser("markdown")
    m.add_argument("--latest", required=True)
    m.add_argument("--markdown", required=True)
    args = p.parse_args(argv)
    return {"row": cmd_row, "finish": cmd_finish, "markdown": cmd_markdown}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
