"""Admission control: who the client is, and how often it may ask.

Each client (its socket address; behind a trusted reverse proxy, the address the proxy puts
in ``X-Forwarded-For``; IPv6 clients by their /64, which one household or server holds whole)
has a token bucket per limited endpoint: ``rate_limit_per_minute`` tokens a minute, at most a
quarter of them saved up for a burst. A request without a token gets 429 with
``Retry-After`` before its body is read. The buckets live in this worker's memory: with
``--workers N`` a client may send up to N times the limit, and a restart forgets them.
The client key is also handed to the embedder's fair queue (``service.core.requester``).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.error_handlers import error_response
from service.core import metrics
from service.core.requester import set_client
from service.core.settings import Settings

LIMITED = frozenset({"/api/v1/ask", "/api/v1/search", "/api/v1/match", "/api/v1/feedback"})
MAX_CLIENTS = 100_000  # buckets kept; the least recently seen is forgotten (it was full)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TokenBuckets:
    """One token bucket per key, refilled continuously; bounded in number (LRU)."""

    def __init__(self, per_minute: int, max_keys: int = MAX_CLIENTS) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, math.ceil(per_minute / 4))
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0.0 if ``key`` may go now (a token is spent), else the seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if tokens >= 1 else tokens, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait


def parse_networks(spec: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in spec.split(",") if part.strip())


def client_key(peer: str, forwarded_for: str | None, proxies: Iterable[Network]) -> str:
    """The client's address: ``peer``, or when ``peer`` is a trusted proxy, the rightmost
    ``X-Forwarded-For`` entry that is not one (entries left of it are the client's word)."""
    proxies = tuple(proxies)
    address = peer
    if forwarded_for and _in(peer, proxies):
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            address = hop
            if not _in(hop, proxies):
                break
    return _key(address)


def _in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]  # "testclient", a unix socket: as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class Admission:
    """ASGI middleware: names the client of every request, and rate-limits the question,
    search, match and feedback endpoints (POST) per client and endpoint."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.proxies = parse_networks(settings.trusted_proxies)
        per_minute = settings.rate_limit_per_minute
        self.buckets = TokenBuckets(per_minute) if per_minute else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        peer = scope["client"][0] if scope.get("client") else ""
        forwarded = dict(scope.get("headers", [])).get(b"x-forwarded-for")
        client = client_key(peer, forwarded.decode("latin-1") if forwarded else None,
                            self.proxies)
        set_client(client)
        path = scope["path"].rstrip("/")
        if self.buckets and scope["method"] == "POST" and path in LIMITED:
            wait = self.buckets.take(f"{client} {path}")
            if wait:
                retry_after = math.ceil(wait)
                response = error_response(
                    429, f"too many requests to {path} from {client}: at most "
                    f"{self.buckets.rate * 60:g} a minute; retry in {retry_after} s",
                    headers={"Retry-After": str(retry_after)})
                metrics.count_rate_limited(path)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
