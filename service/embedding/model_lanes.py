"""Where an embedding-model call runs: wide on the model thread, or narrow on a free lane.

A lone question is embedded fastest with every core on it (a wide call). But a wide call
spends more CPU per question: OpenMP joins its threads dozens of times per text, and a core
that the HTTP work borrows stalls the other one at every join. Under load, one
single-threaded call per core embeds more questions per second. So a call that finds the
model idle runs wide, and a call that arrives while another is in flight runs narrow, one
per core ("lane"); wide and narrow calls never overlap.

Only the model thread ever runs more than one OpenMP thread: libgomp counts the threads
of every team in the process and, once they outnumber the cores, stops spinning between
parallel regions, which made a lone embedding about twice as slow. The figures are in
bench/README.md ("What makes it this fast").

Passage batches (a reindex while serving) run wide and wait while questions are in
flight or waiting, so a question waits for one passage batch at most.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
SetThreads = Callable[[int], None]


class ModelThread:
    """One thread that calls into a model (OpenMP gives each calling thread its own team)."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")

    def run(self, function: Callable[..., T], *args: object) -> T:
        return self._executor.submit(function, *args).result()


class OpenMPThreads:
    """The thread count of OpenMP parallel regions started by the calling thread, for the
    libgomp a wheel bundles (``<package>.libs/libgomp*.so*``, loaded with the package)."""

    def __init__(self, library: Path) -> None:
        self._omp = ctypes.CDLL(str(library))  # the copy already loaded: dlopen shares it
        self.default = max(1, int(self._omp.omp_get_max_threads()))

    @classmethod
    def bundled_with(cls, package_file: str) -> OpenMPThreads | None:
        package = Path(package_file).parent
        found = sorted((package.parent / f"{package.name}.libs").glob("libgomp*.so*"))
        try:
            return cls(found[0]) if found else None
        except (OSError, AttributeError):
            return None

    def set(self, threads: int) -> None:
        self._omp.omp_set_num_threads(threads)


class ModelLanes:
    """``lanes.run(model.query, texts)``: wide on the model thread, or narrow on the caller's.

    ``set_threads`` (called on the running thread before each call) gives a wide call
    ``lanes`` OpenMP threads and a narrow call one; a one-thread call starts no team, so
    it may run on the calling thread. Without ``set_threads`` there is one lane, and every
    call runs wide, one at a time, on the model thread.
    """

    def __init__(self, lanes: int = 1, set_threads: SetThreads | None = None) -> None:
        self.lanes = lanes if set_threads else 1
        self._set_threads = set_threads
        self._wide_thread = ModelThread()
        self._changed = threading.Condition()
        self._in_flight = 0  # calls running, wide or narrow
        self._wide_running = False
        self._queries_waiting = 0
        self.wide_calls = 0
        self.narrow_calls = 0

    def run(self, function: Callable[..., T], *args: object, query: bool = True,
            may_run_wide: bool = True) -> T:
        """``may_run_wide=False`` keeps a long question narrow even on an idle model, so a
        short question that arrives meanwhile gets the other cores at once."""
        wide = self._start(query, may_run_wide)
        try:
            if wide:
                return self._wide_thread.run(self._call, self.lanes, function, *args)
            return self._call(1, function, *args)  # no team: any thread may run it
        finally:
            self._finish(wide)

    def _call(self, threads: int, function: Callable[..., T], *args: object) -> T:
        if self._set_threads:
            self._set_threads(threads)
        return function(*args)

    def _start(self, query: bool, may_run_wide: bool = True) -> bool:
        """Wait for a lane; True if the call runs wide."""
        with self._changed:
            idle = not self._in_flight and not self._queries_waiting
            wide = self.lanes == 1 or not query or (idle and may_run_wide)
            self._queries_waiting += query
            while not self._may_start(wide, query):
                self._changed.wait()
            self._queries_waiting -= query
            self._in_flight += 1
            self._wide_running = wide
            self.wide_calls += wide
            self.narrow_calls += not wide
            return wide

    def _may_start(self, wide: bool, query: bool) -> bool:
        if self._wide_running:
            return False
        if not query and self._queries_waiting:
            return False
        return not self._in_flight if wide else self._in_flight < self.lanes

    def _finish(self, wide: bool) -> None:
        with self._changed:
            self._in_flight -= 1
            if wide:
                self._wide_running = False
            self._changed.notify_all()
