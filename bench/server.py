"""A `policybot serve` subprocess on a free local port, and the memory of its process tree."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from harness import BENCH

POLICYBOT = Path(sys.executable).parent / "policybot"
LOGS = BENCH / "out" / "logs"
STARTUP_LINE = "Application startup complete."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``with Server(env, workers=2) as server:`` starts, waits for /readyz, then stops."""

    def __init__(self, env: dict[str, str], workers: int = 1, name: str = "server",
                 timeout_s: float = 300.0) -> None:
        # benchmarks send everything from one address: no rate limit unless they ask for one
        self.env = {"POLICYBOT_RATE_LIMIT_PER_MINUTE": "0", **os.environ, **env}
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.timeout_s = timeout_s
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{name}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_s = float("nan")  # start to the first /readyz 200
        self.all_workers_s = float("nan")  # start to every worker's "startup complete"

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        options = ["--host", "127.0.0.1", "--port", str(self.port), "--workers",
                   str(self.workers)]
        command = [str(POLICYBOT), "serve", *options]
        started = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready(started)

    def _wait_ready(self, started: float) -> None:
        assert self.process is not None
        with httpx.Client(timeout=5) as client:
            while time.perf_counter() - started < self.timeout_s:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited; see {self.log_path}")
                if self.ready_s != self.ready_s and _ready(client, self.url):
                    self.ready_s = time.perf_counter() - started
                if self.ready_s == self.ready_s and self._started_workers() >= self.workers:
                    self.all_workers_s = time.perf_counter() - started
                    return
                time.sleep(0.02)
        raise TimeoutError(f"server not ready after {self.timeout_s}s; see {self.log_path}")

    def _started_workers(self) -> int:
        return self.log_path.read_text("utf-8", errors="replace").count(STARTUP_LINE)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def pids(self) -> list[int]:
        """The server process and all its descendants (uvicorn workers and helpers)."""
        assert self.process is not None
        return process_tree(self.process.pid)


def _ready(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(url + "/readyz").status_code == 200
    except httpx.HTTPError:
        return False


def process_tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


def memory_kib(pid: int) -> dict[str, int]:
    """Rss, Pss and Uss (private clean + dirty) of one process, from smaps_rollup."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0])
    return {"rss": values["Rss"], "pss": values["Pss"],
            "uss": values["Private_Clean"] + values["Private_Dirty"]}


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80]
    except OSError:
        return "?"
