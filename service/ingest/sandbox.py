"""Readers of PDF, DOCX and HTML run in a helper process with memory, CPU, time and output limits.

A hostile file (a decompression bomb, a pathological PDF or HTML) can then cost at most the
limits, in another process: the server's own memory does not move. The helper is started
with multiprocessing's ``spawn`` (a fresh interpreter: the embedder's threads deadlock in a
forked child), imports the parsers once and is reused for file after file; it is replaced
after any file that broke a limit. One file is read at a time per sandbox, so two bombs
never stack.

Limits, enforced on the helper:
- memory: ``RLIMIT_AS`` of its size once the parsers are loaded plus ``memory_mb``;
- CPU: ``RLIMIT_CPU`` of ``seconds`` per file (the kernel stops it with SIGXCPU);
- wall clock: the parent kills it after ``2 * seconds`` (a file waiting on the other core);
- output: at most ``max_chars`` characters of text per file (413).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import resource
import signal
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing.connection import Connection
from typing import Any

from service.core import errors
from service.core.errors import PayloadTooLarge, ServiceError, Unprocessable

log = logging.getLogger("policybot")

_START_SECONDS = 60  # a cold helper imports pypdf, python-docx and selectolax
_PARSER_MODULES = ("service.ingest.readers.pdf", "service.ingest.readers.docx",
                   "service.ingest.readers.html")


@dataclass(frozen=True)
class ExtractLimits:
    """What one file's extraction may use (POLICYBOT_EXTRACT_*)."""

    memory_mb: int = 1024
    seconds: float = 30.0
    max_chars: int = 2_000_000

    @property
    def wall_seconds(self) -> float:
        return 2 * self.seconds

    def check_chars(self, name: str, text: str) -> None:
        """413 when ``text`` is longer than ``max_chars``."""
        if len(text) > self.max_chars:
            raise PayloadTooLarge(
                f"{name}: the file holds more than {self.max_chars:,} characters of text (the "
                "limit POLICYBOT_EXTRACT_MAX_CHARS); split it into smaller documents"
            )


class ExtractionSandbox:
    """One warm helper process, spawned on first use; ``read`` runs one file at a time."""

    def __init__(self, limits: ExtractLimits) -> None:
        self.limits = limits
        self.calls = 0  # files sent to the helper (tests count parses with it)
        self._lock = threading.Lock()
        self._process: Any = None  # multiprocessing's SpawnProcess
        self._connection: Connection | None = None

    def read(self, suffix: str, name: str, data: bytes) -> tuple[str, str]:
        """``READERS[suffix].read(name, data)`` in the helper; a broken limit is a 4xx."""
        with self._lock:
            self.calls += 1
            connection = self._ready()
            started = time.monotonic()
            try:
                connection.send((suffix, name, data))
            except (BrokenPipeError, EOFError, OSError):  # it died since the last file
                self._stop()
                connection = self._ready()
                connection.send((suffix, name, data))
            if not connection.poll(self.limits.wall_seconds):
                self._stop()
                raise _too_slow(name, f"took longer than {self.limits.wall_seconds:g} s (twice "
                                      "the limit POLICYBOT_EXTRACT_SECONDS)")
            try:
                reply, spent = connection.recv()
            except (EOFError, OSError):
                raise self._died(name) from None
            if spent:  # it ran out of memory, or nearly: the next file gets a fresh one
                self._stop()
            log.debug("sandbox read %s in %.3f s", name, time.monotonic() - started)
        return _result(reply)

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _ready(self) -> Connection:
        """The helper's end of the pipe, starting the helper if there is none."""
        if self._process is not None and self._process.is_alive() and self._connection:
            return self._connection
        self._stop()
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(child, self.limits), daemon=True,
                                  name="policybot-extract")
        process.start()
        child.close()
        if not parent.poll(_START_SECONDS) or parent.recv() != "ready":
            process.kill()
            raise ServiceError("the text extraction helper did not start; see the server log",
                               status=503)
        self._process, self._connection = process, parent
        return parent

    def _died(self, name: str) -> ServiceError:
        """The error for a helper that ended while reading ``name``; it is replaced next time."""
        process = self._process
        process.join(5)
        code = process.exitcode
        self._stop()
        if code == -signal.SIGXCPU:
            return _too_slow(name, f"used more than {self.limits.seconds:g} s of CPU time "
                                   "(the limit POLICYBOT_EXTRACT_SECONDS)")
        return _memory_error(name, self.limits, f" (the reader ended with code {code})")

    def _stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        self._process = self._connection = None


@lru_cache(maxsize=8)
def sandbox_for(limits: ExtractLimits) -> ExtractionSandbox:
    """The process-wide sandbox for ``limits`` (uploads and reindexing share it)."""
    return ExtractionSandbox(limits)


def _result(reply: tuple[str, ...]) -> tuple[str, str]:
    if reply[0] == "ok":
        return reply[1], reply[2]
    _, kind, message, status = reply
    error_class = getattr(errors, kind, None)
    if isinstance(error_class, type) and issubclass(error_class, ServiceError):
        raise error_class(message, int(status))
    raise ServiceError(message, int(status))


def _too_slow(name: str, how: str) -> Unprocessable:
    return Unprocessable(
        f"{name}: reading the file {how} and was stopped; it looks built to be slow: save a "
        "simpler copy (print it to PDF, or save it as DOCX) and upload that"
    )


def _memory_error(name: str, limits: ExtractLimits, detail: str = "") -> Unprocessable:
    return Unprocessable(
        f"{name}: reading the file needed more than {limits.memory_mb} MB of memory (the limit "
        f"POLICYBOT_EXTRACT_MEMORY_MB){detail}; it may be a decompression bomb, or too large: "
        "split it or save a simpler copy and upload that"
    )


# ---- the helper process -------------------------------------------------------------------


def serve(connection: Connection, limits: ExtractLimits) -> None:
    """The helper's loop: read each (suffix, name, data) it is sent, reply with the text."""
    import importlib

    from service.ingest.readers import READERS

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server; it stops us
    for module in _PARSER_MODULES:
        importlib.import_module(module)
    loaded = _address_space_bytes()
    memory = loaded + limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    connection.send("ready")
    while True:
        try:
            suffix, name, data = connection.recv()
        except (EOFError, OSError):  # the server closed the pipe or went away
            return
        _limit_cpu(limits.seconds)
        reply, fatal = _read_one(READERS, suffix, name, data, limits, memory)
        del data
        connection.send((reply, fatal))
        if fatal:
            return  # after running out of memory, start clean


def _read_one(readers: dict[str, Any], suffix: str, name: str, data: bytes,
              limits: ExtractLimits, memory: int) -> tuple[tuple[str, ...], bool]:
    """The reply for one file and whether the helper must end after it: after any file
    that took it to within 5% of ``memory`` (its address-space limit), since parsers
    report a failed allocation in many ways (MemoryError, lxml's and lexbor's own errors)."""
    try:
        title, text = readers[suffix].read(name, data)
        limits.check_chars(name, text)
        limits.check_chars(name, title)
        return ("ok", title, text), _peak_address_space() > 0.95 * memory
    except Exception as exc:
        if _caused_by_memory(exc) or _peak_address_space() > 0.95 * memory:
            error: ServiceError = _memory_error(name, limits)
            return ("error", type(error).__name__, error.message, str(error.status)), True
        if isinstance(exc, ServiceError):
            return ("error", type(exc).__name__, exc.message, str(exc.status)), False
        # a parser bug on a strange file: still the file's problem
        return ("error", "Unprocessable", f"{name}: the file could not be read "
                f"({type(exc).__name__}); save it again from the original and upload the new "
                "copy", "422"), True


def _limit_cpu(seconds: float) -> None:
    """SIGXCPU once this file has used ``seconds`` more CPU time than the helper so far."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(used.ru_utime + used.ru_stime + seconds)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _caused_by_memory(exc: BaseException) -> bool:
    """Whether a MemoryError (or a parser's "memory allocation failed") is behind ``exc``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MemoryError) or "memory allocation failed" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _peak_address_space() -> int:
    """The helper's largest virtual size so far (VmPeak, Linux); 0 elsewhere."""
    try:
        with open(f"/proc/{os.getpid()}/status") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _address_space_bytes() -> int:
    """The helper's virtual size now (Linux); 0 elsewhere, so the limit is absolute."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
