"""A real ``python -m service serve`` subprocess on a free 127.0.0.1 port, for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from service.core.settings import Settings

READY_TIMEOUT_S = 120
STARTUP_LINE = "Application startup complete"  # uvicorn logs it once per worker


@dataclass
class RunningServer:
    client: httpx.Client  # base URL set; sends the admin token
    process: subprocess.Popen  # type: ignore[type-arg]
    log: Path  # stdout and stderr of the server

    @property
    def url(self) -> str:
        return str(self.client.base_url).rstrip("/")

    def log_text(self) -> str:
        return self.log.read_text("utf-8", errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(settings: Settings, token: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("POLICYBOT_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(POLICYBOT_CORPUS_DIR=str(settings.corpus_dir),
               POLICYBOT_INDEX_DIR=str(settings.index_dir),
               POLICYBOT_DATA_DIR=str(settings.data_dir),
               POLICYBOT_ADMIN_TOKEN=token, PYTHONUNBUFFERED="1",
               POLICYBOT_RATE_LIMIT_PER_MINUTE="0")
    env.update(extra)
    return env


@contextmanager
def running_server(settings: Settings, log: Path, *, token: str, workers: int = 1,
                   **extra_env: str) -> Iterator[RunningServer]:
    """Start the server, wait for /readyz, yield it; terminate it (then kill) at the end."""
    port = free_port()
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            env=server_env(settings, token, **extra_env), stdout=log_file,
            stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            server = RunningServer(client, process, log)
            _wait_ready(server, workers)
            yield server
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen, seconds: float = 20) -> None:  # type: ignore[type-arg]
    """Terminate ``process``; kill it if it has not ended within ``seconds``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=seconds)


def _wait_ready(server: RunningServer, workers: int) -> None:
    """Wait for /readyz and for every worker's startup line: one ready worker would
    otherwise take every request while the others still load."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited: {server.log_text()[-3000:]}")
        try:
            started = server.log_text().count(STARTUP_LINE)
            if started >= workers and server.client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server not ready after {READY_TIMEOUT_S} s: {server.log_text()[-3000:]}")


@contextmanager
def milvus_lite_server(data_dir: Path, log: Path | None = None) -> Iterator[str]:
    """``milvus-lite server`` on a free 127.0.0.1 port, shared by every process that sets
    ``POLICYBOT_VECTOR_STORE=milvus POLICYBOT_MILVUS_URI=<the yielded http:// URI>``."""
    port = free_port()
    log = log or data_dir.with_suffix(".log")
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir),
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_port(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def _wait_port(port: int, process: subprocess.Popen, log: Path) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"milvus-lite server exited: {log.read_text('utf-8')[-3000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"milvus-lite server not listening after {READY_TIMEOUT_S} s")
