"""Query vectors for questions: an LRU cache, lane threads under load, one embedding per
question asked twice at once."""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from concurrent.futures import Future
from contextlib import suppress

import numpy as np

from service.core.timing import stage
from service.embedding.embedders import Embedder

MAX_BATCH = 32  # questions per embedder call when many wait at once
LANE_IDLE_S = 30.0  # a query lane thread ends after this long without a question
LANE_NICE = 10  # added to a lane thread's nice value: request threads go first


class QueryVectors:
    """A bounded LRU cache of query vectors: a repeated question costs no embedding.

    A question that finds the embedder idle is embedded by the asking thread. Questions that
    arrive while it is busy wait for lane threads (``Embedder.query_lanes`` of them, one per
    core the embedder can use): a free lane takes its share of the waiting questions in one
    ``embed_queries`` call and goes straight on to the next share when it is done, so the
    embedder runs back-to-back batches instead of waiting for a request thread to get the
    GIL (bench/bench_query.py measured the gain; see bench/README.md). A
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
    questions (a few per cent more questions/s in bench/bench_query.py). Linux only (a
    thread has its own nice value there); raising it needs no rights."""
    if sys.platform.startswith("linux"):
        thread = threading.get_native_id()
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, thread,
                           min(19, os.getpriority(os.PRIO_PROCESS, thread) + nice))
