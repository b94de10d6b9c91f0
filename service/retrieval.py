"""Hybrid retrieval: FAISS (dense) and BM25 rankings fused by reciprocal rank."""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from concurrent.futures import Future
from contextlib import suppress
from typing import Literal

import numpy as np

from service.embedding import Embedder
from service.fusion import lexical_mix, reciprocal_rank_fusion, score_mix
from service.index_store import LoadedIndex
from service.models import Hit
from service.settings import Settings
from service.timing import stage
from service.vector_index import search

Mode = Literal["hybrid", "dense", "bm25", "chars"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25", "chars")
MAX_BATCH = 32  # questions per embedder call when many wait at once
LANE_IDLE_S = 30.0  # a query lane thread ends after this long without a question
LANE_NICE = 10  # added to a lane thread's nice value: request threads go first
MIN_PASSAGES_PER_DOCUMENT = 1.5  # the document channel needs documents longer than a passage


class QueryVectors:
    """A bounded LRU cache of query vectors: a repeated question costs no embedding.

    A question that finds the embedder idle is embedded by the asking thread. Questions that
    arrive while it is busy wait for lane threads (``Embedder.query_lanes`` of them, one per
    core the embedder can use): a free lane takes its share of the waiting questions in one
    ``embed_queries`` call and goes straight on to the next share when it is done, so the
    embedder runs back-to-back batches instead of waiting for a request thread to get the
    GIL. (bench/bench_query.py at 10k passages, 8 at once: 0.735 of the embedder ceiling
    when request threads made the one-thread calls, 0.772–0.79 with lane threads.) A
    question asked twice at once is embedded once. Lane threads start on demand and end
    after ``LANE_IDLE_S`` without work.
    """

    def __init__(self, embedder: Embedder, size: int) -> None:
        self.embedder = embedder
        self.size = size
        self.lanes = max(1, embedder.query_lanes)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._waiting: OrderedDict[str, Future[np.ndarray]] = OrderedDict()  # not embedded yet
        self._unclaimed: OrderedDict[str, Future[np.ndarray]] = OrderedDict()  # nor being
        self._work = threading.Condition()  # guards all of the state
        self._lane_threads = 0
        self.lane_name = f"query-lane-{id(self):x}"
        self._embedding = 0  # lanes inside an embedder call
        self.misses = 0  # questions embedded
        self.calls = 0  # embedder calls

    def get(self, query: str) -> np.ndarray:
        with self._work:
            if query in self._cache:
                self._cache.move_to_end(query)
                return self._cache[query]
            future = self._waiting.get(query)
            own = future is None and not self._embedding and not self._unclaimed
            if future is None:
                future = self._waiting[query] = Future()
                if own:  # an idle embedder: embed it here, one thread hop fewer
                    self._embedding += 1
                else:
                    self._unclaimed[query] = future
                    self._wake_a_lane()
        with stage("embed"):  # its own embedding, or the wait for a lane's
            if own:
                self._embed([(query, future)])
            return future.result()

    def _wake_a_lane(self) -> None:
        self._work.notify()
        if self._lane_threads < self.lanes:
            self._lane_threads += 1
            threading.Thread(target=self._lane, name=self.lane_name, daemon=True).start()

    def _lane(self) -> None:
        _lower_priority_of_this_thread(LANE_NICE)
        while batch := self._claim():
            self._embed(batch)

    def _embed(self, batch: list[tuple[str, Future[np.ndarray]]]) -> None:
        try:
            vectors = list(self.embedder.embed_queries([query for query, _ in batch]))
            if len(vectors) != len(batch):
                raise RuntimeError(f"the embedder returned {len(vectors)} vectors for "
                                   f"{len(batch)} questions")
        except Exception as exc:
            self._settle(batch, exc)
        else:
            self._settle(batch, vectors)

    def _claim(self) -> list[tuple[str, Future[np.ndarray]]]:
        """This lane's share of the oldest unclaimed questions; [] when it should end."""
        with self._work:
            while not self._unclaimed or self._embedding >= self.lanes:
                if not self._work.wait(LANE_IDLE_S) and not self._unclaimed:
                    self._lane_threads -= 1
                    return []
            idle_lanes = self.lanes - self._embedding
            share = min(MAX_BATCH, -(-len(self._unclaimed) // idle_lanes))
            self._embedding += 1
            return [self._unclaimed.popitem(last=False) for _ in range(share)]

    def _settle(self, batch: list[tuple[str, Future[np.ndarray]]],
                outcome: list[np.ndarray] | Exception) -> None:
        with self._work:
            self._embedding -= 1
            self._work.notify()  # a lane is free
            for query, _ in batch:
                del self._waiting[query]
            if isinstance(outcome, Exception):
                for _, future in batch:
                    future.set_exception(outcome)
                return
            self.misses += len(batch)
            self.calls += 1
            for (query, future), vector in zip(batch, outcome, strict=True):
                self._cache[query] = vector
                future.set_result(vector)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)


def _lower_priority_of_this_thread(nice: int) -> None:
    """Let the request threads (and a load generator) run first: a lane holds a core for a
    whole embedding, and while HTTP and answer work wait for a core the lanes run out of
    questions. Measured at 10k passages, 8 at once: +1.6 to +5.5 % questions/s in 4 paired
    runs. Linux only (a thread has its own nice value there); raising it needs no rights."""
    if sys.platform.startswith("linux"):
        thread = threading.get_native_id()
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, thread,
                           min(19, os.getpriority(os.PRIO_PROCESS, thread) + nice))


class Retriever:
    """Dense (FAISS) and BM25 candidates, fused by RRF or by a normalised score mix."""

    def __init__(self, index: LoadedIndex, query_vectors: QueryVectors, candidates: int = 50,
                 rrf_k: int = 60, weights: tuple[float, float] = (1.0, 1.0),
                 fusion: str = "rrf", mix_dense_weight: float = 0.5,
                 mix_chars_weight: float = 0.0, mix_document_weight: float = 0.0) -> None:
        self.index = index
        self.query_vectors = query_vectors
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.weights = weights  # (dense, bm25) for RRF
        self.fusion = fusion
        self.mix_dense_weight = mix_dense_weight
        self.mix_chars_weight = mix_chars_weight  # share of the lexical side for char BM25
        self.mix_document_weight = mix_document_weight  # added: document channel, 0..1

    @classmethod
    def from_settings(cls, index: LoadedIndex, query_vectors: QueryVectors,
                      settings: Settings) -> Retriever:
        return cls(index, query_vectors, settings.candidates, settings.rrf_k,
                   (settings.rrf_dense_weight, settings.rrf_bm25_weight), settings.fusion,
                   settings.mix_dense_weight, settings.mix_chars_weight,
                   settings.mix_document_weight)

    def search(self, query: str, top_k: int = 5, mode: Mode = "hybrid") -> list[Hit]:
        """The ``top_k`` passages for ``query``, each with fused and component scores."""
        if mode == "chars" and self.index.chars is None:
            mode = "bm25"  # an index built before the character channel
        query_vector = self.query_vectors.get(query) if mode in ("hybrid", "dense") else None
        dense = dict(search(self.index.vectors, query_vector, self.candidates)) \
            if query_vector is not None else {}
        bm25_scores = self.index.bm25.scores(query)
        lexical = dict(_top_rows(bm25_scores, self.candidates)) if mode in ("hybrid", "bm25") \
            else {}
        chars = self._chars(query, mode)
        char_rows = dict(_top_rows(chars, self.candidates)) if chars is not None else {}
        rows = list(dict.fromkeys([*dense, *lexical, *char_rows]))
        others = self._dense_scores([r for r in rows if r not in dense], query_vector)
        dense_all = {r: dense[r] if r in dense else others[r] for r in rows}
        if mode == "chars":
            fused = list(char_rows.items())
        else:
            fused = self._fuse(dense, lexical, dense_all, bm25_scores, chars, query, mode)
        return [
            Hit(passage=self.index.passages[row], score=round(score, 6),
                dense_score=round(dense_all[row], 6), bm25_score=round(float(bm25_scores[row]), 6))
            for row, score in fused[:top_k]
        ]

    def _chars(self, query: str, mode: Mode) -> np.ndarray | None:
        """Character BM25 of every passage, when the index has it and a mode uses it."""
        if self.index.chars is None or mode not in ("hybrid", "chars"):
            return None
        if mode == "hybrid" and not self.mix_chars_weight:
            return None
        return self.index.chars.scores(query)

    def _fuse(self, dense: dict[int, float], lexical: dict[int, float],
              dense_all: dict[int, float], bm25_scores: np.ndarray, chars: np.ndarray | None,
              query: str, mode: Mode) -> list[tuple[int, float]]:
        if mode != "hybrid" or self.fusion == "rrf":
            rankings = [list(dense), list(lexical)]
            return reciprocal_rank_fusion(rankings, k=self.rrf_k, weights=list(self.weights))
        bm25_all = {r: float(bm25_scores[r]) for r in dense_all}
        if chars is None and not self._document_channel():
            return score_mix(dense_all, bm25_all, self.mix_dense_weight)
        chars_all = {r: float(chars[r]) for r in dense_all} if chars is not None else {}
        document = self._document_scores(query, list(dense_all)) \
            if self._document_channel() else {}
        return lexical_mix(dense_all, bm25_all, chars_all, document, self.mix_dense_weight,
                           self.mix_chars_weight, self.mix_document_weight)

    def _document_channel(self) -> bool:
        """On when weighted and the documents average at least ``MIN_PASSAGES_PER_DOCUMENT``
        passages: in a corpus of one-passage answers (an FAQ) it only repeats the character
        channel (henan FAQ: hit@5 0.991 -> 0.983 with it)."""
        doc_chars = self.index.doc_chars
        return (bool(self.mix_document_weight) and doc_chars is not None and doc_chars.size > 0
                and len(self.index.passages) >= MIN_PASSAGES_PER_DOCUMENT * doc_chars.size)

    def _document_scores(self, query: str, rows: list[int]) -> dict[int, float]:
        """The document channel's score of each row's document, divided by the best one."""
        assert self.index.doc_chars is not None and self.index.passage_docs is not None
        scores = self.index.doc_chars.scores(query)
        best = float(scores.max()) if len(scores) else 0.0
        if best <= 0:
            return dict.fromkeys(rows, 0.0)
        documents = self.index.passage_docs[np.asarray(rows, dtype=np.int64)]
        return dict(zip(rows, (scores[documents] / best).tolist(), strict=True))

    def _dense_scores(self, rows: list[int], query_vector: np.ndarray | None) -> dict[int, float]:
        """Cosine of the query with passages the dense search did not return (BM25-only rows),
        from the stored vectors in one call; 0.0 where the index cannot reconstruct them."""
        if not rows or query_vector is None:
            return dict.fromkeys(rows, 0.0)
        try:
            vectors = self.index.vectors.reconstruct_batch(np.asarray(rows, dtype=np.int64))
        except RuntimeError:
            return dict.fromkeys(rows, 0.0)
        return dict(zip(rows, (vectors @ query_vector).tolist(), strict=True))


def _top_rows(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    positive = int(np.count_nonzero(scores > 0))
    k = min(k, positive)
    if k <= 0:
        return []
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(i), float(scores[i])) for i in best]
