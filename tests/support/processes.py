"""External processes for end-to-end tests: Debian's Prometheus (as a remote-write receiver or as
an agent pushing through the gateway) and the shared Cortex 1.15.3 (backends/cortex/run.sh).

Each helper keeps the PID of what it started and stops only that PID (SIGTERM, then SIGKILL after
a bound). Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .gateway import free_port, orphan_guard, to_yaml, wait_until

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def http_get(url: str, headers: dict | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """(status, body) of a plain-HTTP GET; status 0 when nothing answered."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def prom_query(base_url: str, query: str, headers: dict | None = None) -> list[dict]:
    """Instant query against a Prometheus-compatible API; the result vector (empty on error)."""
    status, body = http_get(f"{base_url}/api/v1/query?" + urllib.parse.urlencode({"query": query}),
                            headers=headers)
    if status != 200:
        return []
    data = json.loads(body)
    return data.get("data", {}).get("result", []) if data.get("status") == "success" else []


class Prometheus:
    """A Debian `prometheus` process in WORKDIR, either a receiver or an agent."""

    def __init__(self, workdir: str | os.PathLike, config: dict, agent: bool,
                 receiver: bool = False, port: int | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.config = config
        self.agent = agent
        self.receiver = receiver
        self.config_file = self.workdir / "prometheus.yml"
        self.log_file = self.workdir / "prometheus.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [PROMETHEUS, f"--config.file={self.config_file}",
               f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=info"]
        if self.agent:
            cmd += ["--enable-feature=agent", f"--storage.agent.path={self.workdir / 'wal'}"]
        else:
            cmd += [f"--storage.tsdb.path={self.workdir / 'tsdb'}"]
        # Don't spend a minute flushing unsendable batches on SIGTERM (default 1m).
        cmd.append("--storage.remote.flush-deadline=1s")
        if self.receiver:
            cmd.append("--web.enable-remote-write-receiver")
        return cmd

    def start(self, timeout: float = 30.0) -> "Prometheus":
        self.config_file.write_text(to_yaml(self.config) + "\n")
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(orphan_guard() + self.command(),
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         cwd=self.workdir)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited {self.proc.returncode}:\n"
                                   f"{self.log_text()[-3000:]}")
            return http_get(f"{self.url}/-/ready", timeout=1)[0] == 200

        try:
            wait_until(ready, timeout=timeout, interval=0.1, what="prometheus /-/ready")
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def metric_value(self, name: str) -> float:
        """Sum of all series of metric NAME on this process's own /metrics."""
        status, body = http_get(f"{self.url}/metrics")
        total = 0.0
        if status == 200:
            for line in body.decode().splitlines():
                if line.startswith(name) and (line[len(name):len(name) + 1] in (" ", "{")):
                    total += float(line.rsplit(" ", 1)[1])
        return total


def receiver_config() -> dict:
    return {"global": {"scrape_interval": "15s"}}


def agent_config(agent_port: int, remote_write_url: str, tls: dict, external_labels: dict,
                 headers: dict | None = None) -> dict:
    """Agent scraping itself every second and remote-writing through the gateway with mTLS."""
    rw = {
        "url": remote_write_url,
        "tls_config": tls,
        "queue_config": {"batch_send_deadline": "1s", "min_backoff": "100ms",
                         "max_backoff": "1s"},
    }
    if headers:
        rw["headers"] = headers
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                   "external_labels": external_labels},
        "scrape_configs": [{"job_name": "self",
                            "static_configs": [{"targets": [f"127.0.0.1:{agent_port}"]}]}],
        "remote_write": [rw],
    }


class Cortex:
    """The shared single-process Cortex started with backends/cortex/run.sh (prints its PID)."""

    def __init__(self, run_sh: str | os.PathLike, data_dir: str | os.PathLike):
        self.run_sh = str(run_sh)
        self.data_dir = Path(data_dir)
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 90.0) -> "Cortex":
        proc = subprocess.run(["bash", self.run_sh, str(self.data_dir), str(self.http_port),
                               str(self.grpc_port)], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"cortex run.sh failed ({proc.returncode}): {proc.stderr}\n"
                               f"{self.log_text()[-3000:]}")
        self.pid = int(proc.stdout.strip().splitlines()[-1])
        return self

    def alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        # A zombie (not reaped yet) counts as gone.
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            return state != "Z"
        except (FileNotFoundError, IndexError):
            return False

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the PID run.sh printed, SIGKILL it after TIMEOUT s."""
        if not self.alive():
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            wait_until(lambda: not self.alive(), timeout=timeout, interval=0.1,
                       what="cortex exit")
        except TimeoutError:
            os.kill(self.pid, signal.SIGKILL)
            wait_until(lambda: not self.alive(), timeout=10, interval=0.1, what="cortex kill")

    def query(self, tenant: str, query: str) -> list[dict]:
        return prom_query(f"{self.url}/prometheus", query, headers={"X-Scope-OrgID": tenant})

    def log_text(self) -> str:
        try:
            return (self.data_dir / "cortex.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""
