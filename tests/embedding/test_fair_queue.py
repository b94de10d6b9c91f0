"""The embedder's queue: clients served by characters, long questions alone, bounded."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import numpy as np
import pytest

from service.core.errors import Overloaded
from service.core.requester import set_client
from service.embedding.fair_queue import COST_OVERHEAD, FairQueue
from service.embedding.query_vectors import QueryVectors

LONG = "政" * 400
SHORT = "泉惠企是什么？"


def push(queue: FairQueue, client: str, query: str, shed: list[str] | None = None) -> Future:
    future: Future[np.ndarray] = Future()
    queue.push(client, query, future, (shed if shed is not None else []).append)
    return future


def drain(queue: FairQueue, heavy_ok: bool = True) -> list[list[str]]:
    batches = []
    while batch := queue.pop_batch(32, heavy_ok=heavy_ok):
        batches.append([query for query, _ in batch])
    return batches


def test_a_short_question_overtakes_a_backlog_of_long_ones() -> None:
    queue = FairQueue(max_chars=0)
    for n in range(3):
        push(queue, "abuser", f"{n}{LONG}")
    assert [q for q, _ in queue.pop_batch(32, heavy_ok=True)] == [f"0{LONG}"]
    push(queue, "user", SHORT)  # arrives while the first long one is embedded
    assert drain(queue) == [[SHORT], [f"1{LONG}"], [f"2{LONG}"]]


def test_short_questions_of_several_clients_share_a_batch_in_turn() -> None:
    queue = FairQueue(max_chars=0)
    for n in range(3):
        push(queue, "a", f"a{n}")
    push(queue, "b", "b0")
    push(queue, "b", "b1")
    assert drain(queue) == [["b0", "a0", "b1", "a1", "a2"]]  # on a tie, less waiting first


def test_long_questions_wait_while_the_long_question_lane_is_busy() -> None:
    queue = FairQueue(max_chars=0)
    push(queue, "abuser", LONG)
    push(queue, "user", SHORT)
    assert drain(queue, heavy_ok=False) == [[SHORT]]
    assert len(queue) == 1


def test_a_full_queue_sheds_the_newest_questions_of_the_biggest_client() -> None:
    queue = FairQueue(max_chars=2 * (len(LONG) + COST_OVERHEAD))
    shed: list[str] = []
    first = push(queue, "abuser", f"1{LONG}"[:400], shed)
    second = push(queue, "abuser", f"2{LONG}"[:400], shed)
    user = push(queue, "user", SHORT, shed)  # does not fit: the abuser's newest goes
    assert shed == [f"2{LONG}"[:400]]
    assert isinstance(second.exception(timeout=0), Overloaded)
    assert not first.done() and not user.done()
    with pytest.raises(Overloaded, match="busy"):
        push(queue, "abuser", f"3{LONG}"[:400], shed)  # the biggest client asking: refused
    assert queue.shed == 2


class SlowEmbedder:
    """A stand-in for the model whose time grows with the text (fast tier: no model)."""

    name, dim, query_lanes = "slow", 4, 2

    def __init__(self) -> None:
        self.order: list[str] = []
        self.lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        time.sleep(0.0005 * sum(len(t) for t in texts) + 0.005)
        with self.lock:
            self.order.extend(texts)
        return np.ones((len(texts), self.dim), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.embed_queries(texts)


def test_query_vectors_embed_a_short_question_beside_a_stream_of_long_ones() -> None:
    embedder = SlowEmbedder()
    vectors = QueryVectors(embedder, size=100)  # type: ignore[arg-type]

    def ask(client: str, query: str) -> None:
        set_client(client)
        vectors.get(query)

    abusers = [threading.Thread(target=ask, args=(f"abuser{n % 2}", f"{n}{LONG}"))
               for n in range(6)]
    for thread in abusers:
        thread.start()
    time.sleep(0.05)  # the long questions hold a lane (at most lanes - 1 of them) and queue
    started = time.perf_counter()
    ask("user", SHORT)
    waited = time.perf_counter() - started
    for thread in abusers:
        thread.join(timeout=30)
    assert waited < 0.15, f"a short question waited {waited:.3f} s behind long ones"
    assert embedder.order.index(SHORT) < 3  # not after the whole backlog of six
