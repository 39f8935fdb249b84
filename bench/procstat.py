#!/usr/bin/env python3
"""CPU and memory of the benchmark's processes, read from /proc (used by bench/run.sh).

    procstat.py snap NAME=PID...                 one JSON sample on stdout
    procstat.py settle PID [MAX_S]               wait until PID's tree stops using CPU (<= 120 s)
    procstat.py watch --out FILE --until-exit PID [--interval S] [--max-seconds S] NAME=PID...

A sample holds, for each NAME, the sum over the process *tree* (the PID and all its descendants,
e.g. nginx's master and worker): CPU seconds (utime + stime from /proc/PID/stat), VmRSS and VmHWM
(KiB, from /proc/PID/status) and, per thread, scheduler run and run-queue wait time
(/proc/PID/task/TID/schedstat, ns). It also holds the busy and total ticks of each CPU
(/proc/stat: how much of CPU 0 others used during a row) and the TcpExt counters of the current
network namespace (/proc/net/netstat: DelayedACKs and friends, per row). `t` is CLOCK_MONOTONIC.

`watch` samples every --interval seconds until the process --until-exit has exited (it may be a
zombie: its counters stay readable until it is reaped), then takes a last sample at once and
writes {"samples": [...], "exit_t": T}. It polls for the exit every 20 ms, so exit_t is within
20 ms of the real exit; it never runs longer than --max-seconds.
"""

from __future__ import annotations

import json
import os
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
NETSTAT_KEYS = ("DelayedACKs", "DelayedACKLocked", "DelayedACKLost", "TCPTimeouts",
                "TCPLossProbes", "TCPRetransFail", "ListenOverflows", "ListenDrops",
                "TCPBacklogDrop", "TCPAbortOnData", "TCPAbortOnClose", "TCPReqQFullDrop")


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _stat_fields(pid: int) -> list[str] | None:
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return [text[: text.index("(")].strip(), "comm"] + text[text.rindex(")") + 2:].split()


def tree(pid: int) -> list[int]:
    """PID and all its descendants (via /proc/PID/task/*/children), bounded in size."""
    out, todo = [], [pid]
    while todo and len(out) < 4096:
        p = todo.pop()
        if _read(f"/proc/{p}/stat") is None:
            continue
        out.append(p)
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            tids = []
        for tid in tids:
            children = _read(f"/proc/{p}/task/{tid}/children") or ""
            todo.extend(int(c) for c in children.split())
    return out


def _status_kb(pid: int, key: str) -> int:
    text = _read(f"/proc/{pid}/status") or ""
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def proc_sample(pid: int) -> dict:
    pids = tree(pid)
    cpu_ticks = 0
    threads = {}
    states = []
    for p in pids:
        f = _stat_fields(p)
        if f is None:
            continue
        states.append(f[2])
        cpu_ticks += int(f[13]) + int(f[14])  # utime + stime, in clock ticks
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            tids = []
        for tid in tids:
            sched = (_read(f"/proc/{p}/task/{tid}/schedstat") or "0 0 0").split()
            threads[f"{p}/{tid}"] = [int(sched[0]), int(sched[1])]  # run ns, run-queue wait ns
    return {
        "pids": pids,
        "alive": bool(states) and states[0] not in ("Z", "X"),
        "cpu_s": cpu_ticks / CLK_TCK,
        "rss_kb": sum(_status_kb(p, "VmRSS") for p in pids),
        "hwm_kb": sum(_status_kb(p, "VmHWM") for p in pids),
        "threads": threads,
    }


def cpu_ticks() -> dict:
    out = {}
    for line in (_read("/proc/stat") or "").splitlines():
        parts = line.split()
        if parts and parts[0].startswith("cpu") and parts[0] != "cpu":
            v = [int(x) for x in parts[1:]]
            idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
            out[parts[0]] = {"busy": sum(v[:8]) - idle, "total": sum(v[:8])}
    return out


def netstat() -> dict:
    lines = [ln.split() for ln in (_read("/proc/net/netstat") or "").splitlines()]
    out = {}
    for head, vals in zip(lines[::2], lines[1::2]):
        if head and head[0] == "TcpExt:":
            for k, v in zip(head[1:], vals[1:]):
                if k in NETSTAT_KEYS:
                    out[k] = int(v)
    return out


def sample(named: dict[str, int]) -> dict:
    return {
        "t": time.monotonic(),
        "procs": {name: proc_sample(pid) for name, pid in named.items()},
        "cpus": cpu_ticks(),
        "netstat": netstat(),
    }


def _alive(pid: int) -> bool:
    f = _stat_fields(pid)
    return f is not None and f[2] not in ("Z", "X")


def _parse_named(args: list[str]) -> dict[str, int]:
    named = {}
    for a in args:
        name, _, pid = a.partition("=")
        if pid.isdigit():
            named[name] = int(pid)
    return named


def settle(pid: int, quiet_s: float = 0.5, max_s: float = 120.0) -> float:
    """Waits until PID's tree has used no more than one clock tick of CPU for quiet_s (its
    backlog of work is done), or max_s passed; returns the seconds waited."""
    start = time.monotonic()
    last = proc_sample(pid)["cpu_s"]
    while time.monotonic() - start < max_s:
        time.sleep(quiet_s)
        now = proc_sample(pid)["cpu_s"]
        if now - last <= 1.0 / CLK_TCK:
            break
        last = now
    return time.monotonic() - start


def main(argv: list[str]) -> int:
    if len(argv) in (2, 3) and argv[0] == "settle":
        max_s = float(argv[2]) if len(argv) == 3 else 120.0
        print(f"{settle(int(argv[1]), max_s=max_s):.1f}")
        return 0
    if len(argv) >= 1 and argv[0] == "snap":
        print(json.dumps(sample(_parse_named(argv[1:]))))
        return 0
    if len(argv) >= 1 and argv[0] == "watch":
        out, until, interval, max_s, rest = None, None, 0.25, 600.0, []
        it = iter(argv[1:])
        for a in it:
            if a == "--out":
                out = next(it)
            elif a == "--until-exit":
                until = int(next(it))
            elif a == "--interval":
                interval = float(next(it))
            elif a == "--max-seconds":
                max_s = float(next(it))
            else:
                rest.append(a)
        if out is None or until is None:
            print(__doc__, file=sys.stderr)
            return 2
        named = _parse_named(rest)
        samples = [sample(named)]
        start = time.monotonic()
        next_sample = start + interval
        exit_t = None
        while time.monotonic() - start < max_s:
            if not _alive(until):
                exit_t = time.monotonic()
                break
            now = time.monotonic()
            if now >= next_sample:
                samples.append(sample(named))
                next_sample += interval
            time.sleep(0.02)
        samples.append(sample(named))
        with open(out, "w", encoding="utf-8") as f:
            json.dump({"samples": samples, "exit_t": exit_t}, f)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
