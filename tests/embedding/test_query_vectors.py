"""The query-vector cache: repeated questions cost no embedding, waiting ones share a call."""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np
import pytest

from service.embedding import query_vectors as retrieval
from service.embedding.embedders import Embedder
from service.embedding.query_vectors import QueryVectors

QUESTIONS = ["专精特新企业有哪些支持？", "外籍员工工作居留怎么办？", "泉惠企平台在哪里？",
             "人才公寓怎么申请？", "自贸区有什么改革措施？"]


class GatedEmbedder:
    """The real embedder, recording each call; the first call waits until the gate opens."""

    def __init__(self, real: Embedder, lanes: int = 1) -> None:
        self.real, self.name, self.dim, self.query_lanes = real, real.name, real.dim, lanes
        self.calls: list[list[str]] = []
        self.in_flight = self.most_in_flight = 0
        self.threads: list[str] = []  # the thread of each call
        self.nice: list[int] = []  # and its nice value
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.first_call_started = threading.Event()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.real.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self.lock:
            self.calls.append(list(texts))
            self.threads.append(threading.current_thread().name)
            self.nice.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.first_call_started.set()
        self.gate.wait(timeout=10)
        try:
            return self.real.embed_queries(texts)
        finally:
            with self.lock:
                self.in_flight -= 1


def ask_all_at_once(vectors: QueryVectors, gated: GatedEmbedder,
                    questions: list[str]) -> list[np.ndarray]:
    """The first question takes the embedder; the others arrive while it is busy."""
    results: dict[int, np.ndarray] = {}

    def ask(i: int) -> None:
        results[i] = vectors.get(questions[i])

    first = threading.Thread(target=ask, args=(0,))
    first.start()
    assert gated.first_call_started.wait(timeout=10)
    others = [threading.Thread(target=ask, args=(i,)) for i in range(1, len(questions))]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 10
    while len(vectors._waiting) < len(set(questions)) and time.monotonic() < deadline:
        time.sleep(0.01)  # every question is waiting (the first one is being embedded)
    gated.gate.set()
    for thread in [first, *others]:
        thread.join(timeout=30)
    return [results[i] for i in range(len(questions))]


def test_a_repeated_question_costs_no_embedding(embedder: Embedder) -> None:
    gated = GatedEmbedder(embedder)
    gated.gate.set()
    vectors = QueryVectors(gated, size=10)
    first = vectors.get(QUESTIONS[0])
    again = vectors.get(QUESTIONS[0])
    assert len(gated.calls) == 1 and vectors.misses == 1
    assert again is first


def test_the_cache_is_bounded_and_forgets_the_least_recently_used(embedder: Embedder) -> None:
    gated = GatedEmbedder(embedder)
    gated.gate.set()
    vectors = QueryVectors(gated, size=2)
    for question in [QUESTIONS[0], QUESTIONS[1], QUESTIONS[0], QUESTIONS[2]]:
        vectors.get(question)
    assert vectors.misses == 3  # QUESTIONS[0] was used again, so QUESTIONS[1] went out
    vectors.get(QUESTIONS[0])
    assert vectors.misses == 3
    vectors.get(QUESTIONS[1])
    assert vectors.misses == 4


def test_questions_waiting_for_a_busy_embedder_share_one_call(embedder: Embedder) -> None:
    gated = GatedEmbedder(embedder)
    vectors = QueryVectors(gated, size=100)
    results = ask_all_at_once(vectors, gated, QUESTIONS)
    assert [len(call) for call in gated.calls] == [1, len(QUESTIONS) - 1]
    assert vectors.calls == 2 and vectors.misses == len(QUESTIONS)
    for question, vector in zip(QUESTIONS, results, strict=True):
        assert np.allclose(vector, embedder.embed_query(question), atol=2e-3)


def test_with_two_lanes_two_batches_are_embedded_at_once(embedder: Embedder) -> None:
    gated = GatedEmbedder(embedder, lanes=2)
    vectors = QueryVectors(gated, size=100)
    questions = QUESTIONS * 2  # each asked twice
    results = ask_all_at_once(vectors, gated, questions)
    assert gated.most_in_flight == 2
    assert sorted(q for call in gated.calls for q in call) == sorted(QUESTIONS)
    assert vectors.misses == len(QUESTIONS) and vectors.calls == len(gated.calls)
    for question, vector in zip(questions, results, strict=True):
        assert np.allclose(vector, embedder.embed_query(question), atol=2e-3)


def test_an_idle_embedder_is_used_by_the_asker_and_a_busy_one_by_lane_threads(
        embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retrieval, "LANE_IDLE_S", 0.1)
    gated = GatedEmbedder(embedder)
    vectors = QueryVectors(gated, size=100)
    ask_all_at_once(vectors, gated, QUESTIONS)
    assert gated.threads[0] != vectors.lane_name and gated.threads[1] == vectors.lane_name
    if sys.platform.startswith("linux"):  # the lane yields the cores to request threads
        assert gated.nice[1] == min(19, gated.nice[0] + retrieval.LANE_NICE)

    def lanes_alive() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == vectors.lane_name]

    deadline = time.monotonic() + 5
    while lanes_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not lanes_alive() and vectors._lane_threads == 0  # idle lane threads end
    assert vectors.get("新的问题：人才公寓在哪里？").shape == (embedder.dim,)


def test_a_question_asked_twice_at_once_is_embedded_once(embedder: Embedder) -> None:
    gated = GatedEmbedder(embedder)
    vectors = QueryVectors(gated, size=100)
    asked = [QUESTIONS[0], QUESTIONS[1], QUESTIONS[1], QUESTIONS[1]]
    results = ask_all_at_once(vectors, gated, asked)
    assert sum(len(call) for call in gated.calls) == 2
    assert np.array_equal(results[1], results[3])


def test_an_embedder_failure_reaches_every_waiting_question_and_passes(embedder: Embedder) -> None:
    class FailingOnce(GatedEmbedder):
        def embed_queries(self, texts: list[str]) -> np.ndarray:
            if not self.calls:
                self.calls.append(list(texts))
                raise RuntimeError("model crashed")
            return super().embed_queries(texts)

    failing = FailingOnce(embedder)
    failing.gate.set()
    vectors = QueryVectors(failing, size=10)
    with pytest.raises(RuntimeError, match="model crashed"):
        vectors.get(QUESTIONS[0])
    assert vectors.get(QUESTIONS[0]).shape == (embedder.dim,)  # nothing stuck in the queue


def test_batched_query_vectors_match_one_by_one(embedder: Embedder) -> None:
    batch = embedder.embed_queries(QUESTIONS)
    singles = np.stack([embedder.embed_query(q) for q in QUESTIONS])
    assert batch.shape == (len(QUESTIONS), embedder.dim)
    assert np.allclose(batch, singles, atol=2e-3)
    assert embedder.embed_queries([]).shape == (0, embedder.dim)
