"""Where a request's time went, sent back as a ``Server-Timing`` header.

A route opens a ``Timings`` for its request; code it calls records stages into it with
``stage(name)`` without being handed anything (a context variable carries it, and the
thread pool copies the context into the thread that runs the route). Outside a request
``stage`` records nothing. Browsers' developer tools show the header beside each request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

HEADER = "Server-Timing"
_current: ContextVar[Timings | None] = ContextVar("policybot_timings", default=None)


class Timings:
    """Milliseconds per stage name, in the order the stages first ran."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._started = time.perf_counter()

    def add(self, name: str, ms: float) -> None:
        self.ms[name] = self.ms.get(name, 0.0) + ms

    def elapsed_ms(self) -> float:
        """Milliseconds since the request's timings started."""
        return (time.perf_counter() - self._started) * 1000

    def header(self) -> str:
        """``embed;dur=7.12, total;dur=8.40``: the stages, then the time since the start."""
        stages = [*self.ms.items(), ("total", self.elapsed_ms())]
        return ", ".join(f"{name};dur={ms:.2f}" for name, ms in stages)


def start_request() -> Timings:
    """New timings for the request this thread serves."""
    timings = Timings()
    _current.set(timings)
    return timings


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the time the block takes to the current request's ``name`` stage, if any."""
    timings = _current.get()
    if timings is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        timings.add(name, (time.perf_counter() - started) * 1000)


def record(name: str, ms: float) -> None:
    """Add ``ms`` to the current request's ``name`` stage, if there is a request."""
    timings = _current.get()
    if timings is not None:
        timings.add(name, ms)
