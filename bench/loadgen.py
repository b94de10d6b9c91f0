"""A lean HTTP/1.1 client for loopback load: one connection per request, on uvloop.

The load generator shares the two cores with the server, so its own CPU per request
is taken from the server. httpx spent 1.3–2.2 ms of CPU on a request with a fresh
connection; writing the request bytes and reading Content-Length bytes back on a raw
asyncio stream spends a fraction of that (bench_query prints the client's CPU share).
"""

from __future__ import annotations

import asyncio
import json
from typing import NamedTuple
from urllib.parse import urlsplit


class HTTPError(Exception):
    pass


class Reply(NamedTuple):
    status: int
    body: bytes
    timing: dict[str, float]  # the Server-Timing header: stage -> ms


class LeanClient:
    """``await client.post_json(path, payload)`` -> Reply(status, body bytes, timing).

    A new connection per request, or with ``keep_alive`` one connection reused for every
    request (for one user at a time: browsers and HTTP libraries keep connections open)."""

    def __init__(self, base_url: str, timeout_s: float = 60.0, keep_alive: bool = False) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout_s = timeout_s
        self.keep_alive = keep_alive
        self._open: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post_json(self, path: str, payload: object,
                        headers: dict[str, str] | None = None, raw: bytes | None = None) -> Reply:
        """``headers`` are added to the request; ``raw`` is sent as the body instead of
        ``payload`` (bench_abuse's oversized bodies)."""
        body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
        connection = "keep-alive" if self.keep_alive else "close"
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: application/json\r\nConnection: {connection}\r\n{extra}"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        try:
            return await asyncio.wait_for(self._exchange(head + body), self.timeout_s)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError,
                IndexError) as exc:
            self.close()
            raise HTTPError(f"{path}: {exc!r}") from exc

    def close(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None

    async def _exchange(self, request: bytes) -> Reply:
        if not self.keep_alive:  # concurrent users share this client: a connection each
            reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                return await _send(reader, writer, request)
            finally:
                writer.close()
        if self._open is None:
            self._open = await asyncio.open_connection(self.host, self.port)
        return await _send(*self._open, request)


async def _send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                request: bytes) -> Reply:
    writer.write(request)
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length, timing = 0, b""
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"server-timing":
            timing = value
    return Reply(status, await reader.readexactly(length), _stages(timing.decode()))


def _stages(header: str) -> dict[str, float]:
    """``embed;dur=7.12, total;dur=8.40`` -> {"embed": 7.12, "total": 8.4}."""
    stages = {}
    for entry in filter(None, (e.strip() for e in header.split(","))):
        name, _, duration = entry.partition(";dur=")
        stages[name] = float(duration or 0)
    return stages


def run(coroutine):  # type: ignore[no-untyped-def]
    """Run on uvloop (cheaper per request than asyncio's default loop)."""
    import uvloop

    return uvloop.run(coroutine)
