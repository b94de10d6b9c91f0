"""Questions waiting for the embedder, shared fairly between clients and bounded.

A question's embedding costs more the longer it is (a 500-character question costs tens of
short ones), so clients are served by cost, not by count: each waiting client keeps the
characters it has been served, and the next question comes from the waiting client that has
been served least (start-time fair queueing: a client that comes back after a pause starts
level with the others, with no credit saved up). One client's long questions then delay
others by at most the question being embedded, not by its whole backlog.

The queue holds at most ``max_chars`` characters. A question that does not fit sheds the
newest questions of the client holding the most characters; if that is the asker, the new
question is refused instead. Shed questions fail with ``Overloaded`` (503 + Retry-After).

Not thread-safe by itself: ``QueryVectors`` calls it under its own lock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from service.core.errors import Overloaded

HEAVY_CHARS = 100  # longer questions are embedded alone, on at most lanes - 1 lanes
COST_OVERHEAD = 16  # characters a question costs beyond its own (the call, the prefix)
Waiting = tuple[str, "Future[np.ndarray]"]


def cost(query: str) -> int:
    return len(query) + COST_OVERHEAD


def is_heavy(query: str) -> bool:
    return len(query) > HEAVY_CHARS


@dataclass
class _Client:
    served: int = 0  # characters served so far (virtual time)
    waiting: deque[Waiting] = field(default_factory=deque)
    queued: int = 0  # characters waiting


class FairQueue:
    """Per-client queues of (question, future), popped least-served client first."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._clients: dict[str, _Client] = {}  # only clients with questions waiting
        self._clock = 0  # ``served`` of the last client popped: where newcomers start
        self.queued = 0  # characters waiting, all clients
        self.shed = 0  # questions refused or dropped

    def __len__(self) -> int:
        return sum(len(c.waiting) for c in self._clients.values())

    def __bool__(self) -> bool:
        return bool(self._clients)

    def push(self, client_key: str, query: str, future: Future[np.ndarray],
             on_shed: Callable[[str], None]) -> None:
        """Queue ``query`` for ``client_key``; ``on_shed(query)`` for each dropped question.
        Raises ``Overloaded`` when the asker holds most of the full queue."""
        needed = cost(query)
        while self.max_chars and self.queued + needed > self.max_chars:
            biggest_key = max(self._clients, key=lambda k: self._clients[k].queued, default=None)
            if biggest_key is None or biggest_key == client_key:
                self.shed += 1
                raise _overloaded()
            self._drop_newest(biggest_key, on_shed)
        client = self._clients.get(client_key)
        if client is None:
            client = self._clients[client_key] = _Client(served=self._clock)
        client.waiting.append((query, future))
        client.queued += needed
        self.queued += needed

    def pop_batch(self, max_items: int, heavy_ok: bool) -> list[Waiting]:
        """The next questions to embed together: one heavy question alone (if ``heavy_ok``),
        or up to ``max_items`` light ones, each from the least-served client at that point."""
        batch: list[Waiting] = []
        while len(batch) < max_items:
            key = self._next_client(heavy_ok=heavy_ok and not batch)
            if key is None:
                break
            query, future = self._pop(key)
            batch.append((query, future))
            if is_heavy(query):
                break
        return batch

    def _next_client(self, heavy_ok: bool) -> str | None:
        candidates = [k for k, c in self._clients.items()
                      if heavy_ok or not is_heavy(c.waiting[0][0])]
        # least served first; on a tie, the client with less waiting (a short question)
        return min(candidates, key=lambda k: (self._clients[k].served, self._clients[k].queued),
                   default=None)

    def _pop(self, key: str) -> Waiting:
        client = self._clients[key]
        query, future = client.waiting.popleft()
        client.queued -= cost(query)
        self.queued -= cost(query)
        self._clock = client.served
        client.served += cost(query)
        if not client.waiting:
            del self._clients[key]
        return query, future

    def _drop_newest(self, key: str, on_shed: Callable[[str], None]) -> None:
        client = self._clients[key]
        query, future = client.waiting.pop()
        client.queued -= cost(query)
        self.queued -= cost(query)
        if not client.waiting:
            del self._clients[key]
        self.shed += 1
        on_shed(query)
        future.set_exception(_overloaded())


def _overloaded() -> Overloaded:
    return Overloaded("the server is busy answering other questions; retry in a second "
                      "(long questions are served after short ones)")
