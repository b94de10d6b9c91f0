"""Query latency and throughput over HTTP, against the embedder floor measured in the same run.

    .venv/bin/python bench/bench_query.py [--duration 10] [--sizes seed,10k] [--quick]

For each index (the seed corpus, and ~10k synthetic passages with real vectors,
see datasets.py) and each server configuration, starts `policybot serve`, then
drives POST /api/v1/ask and /api/v1/search with an async httpx load generator at
concurrency 1, 8 and 32 for ``--duration`` seconds each (at most
``--max-requests``). Half the questions repeat a hot set of 20 (their vectors
are in the server's LRU cache), half are distinct questions never sent before
(generated from corpus words), so they each cost one embedding. A last phase at
concurrency 8 sends only distinct questions: that is the throughput compared
with the embedder alone.

The floor is measured in this process before the servers start: one query
embedding + one FAISS search + one BM25 search, on distinct questions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx
import numpy as np

import datasets
import synthetic
from harness import Report, median_ms, percentile, progress, table
from server import Server

from service.embedding import make_embedder
from service.index_store import load_current
from service.retrieval import QueryVectors, Retriever
from service.settings import Settings
from service.vector_index import search

HOT_QUESTIONS = 20
REPEAT_SHARE = 0.5
CONFIGS = {  # name -> (workers, extra environment)
    "1 worker": (1, {}),
    "2 workers": (2, {}),
    "2 workers, OMP_NUM_THREADS=1": (2, {"OMP_NUM_THREADS": "1"}),
}


@dataclass
class Floor:
    embed_ms: float
    embed_1thread_ms: float
    faiss_ms: float
    bm25_ms: float
    total_ms: float
    cache_hit_embeddings: int

    @property
    def embedder_rps(self) -> float:
        """What the embedder alone sustains on this machine: the better of one call using
        every core, or one single-threaded call per core."""
        return max(1000 / self.embed_ms, (os.cpu_count() or 1) * 1000 / self.embed_1thread_ms)


@dataclass
class Phase:
    endpoint: str
    concurrency: int
    mix: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"distinct": [],
                                                                          "repeated": []})
    errors: int = 0
    seconds: float = 0.0

    @property
    def all_ms(self) -> list[float]:
        return self.latencies["distinct"] + self.latencies["repeated"]

    def row(self, config: str, size: str) -> list[object]:
        ms = self.all_ms
        distinct = self.latencies["distinct"]
        return [size, config, self.endpoint, self.concurrency, self.mix, len(ms),
                percentile(ms, 50), percentile(ms, 95), percentile(ms, 99),
                percentile(distinct, 50), percentile(self.latencies["repeated"], 50),
                len(ms) / self.seconds if self.seconds else 0.0, self.errors]


class Questions:
    """Hot questions (repeated) and a stream of questions no server has seen."""

    def __init__(self) -> None:
        self.hot = synthetic.real_questions()[:HOT_QUESTIONS]
        self.next_distinct = 0

    def distinct(self) -> str:
        self.next_distinct += 1
        return synthetic.generated_question(self.next_distinct)


def measure_floor(settings: Settings, questions: list[str]) -> Floor:
    """Embedding + FAISS + BM25 for distinct questions, in this process, nothing else running."""
    embedder = make_embedder(settings.embedder)
    index = load_current(settings.index_dir, embedder.name)
    vectors = [embedder.embed_query(q) for q in questions]  # warm-up and vectors for FAISS
    items = iter(questions * 3)
    embed_ms = median_ms(lambda: embedder.embed_query(next(items)), len(questions))
    rows = iter(vectors * 3)
    faiss_ms = median_ms(lambda: search(index.vectors, next(rows), settings.candidates),
                         len(vectors))
    texts = iter(questions * 3)
    bm25_ms = median_ms(lambda: index.bm25.scores(next(texts)), len(questions))
    query_vectors = QueryVectors(embedder, settings.query_cache_size)
    retriever = Retriever.from_settings(index, query_vectors, settings)
    retriever.search(questions[0])
    before = query_vectors.misses
    retriever.search(questions[0])  # a repeated question: the counter must not move
    return Floor(embed_ms, _embed_ms_one_thread(questions), faiss_ms, bm25_ms,
                 embed_ms + faiss_ms + bm25_ms, query_vectors.misses - before)


def _embed_ms_one_thread(questions: list[str]) -> float:
    """Median query embedding time with OMP_NUM_THREADS=1 (needs a fresh process)."""
    code = ("import sys, time, statistics; from service.embedding import make_embedder; "
            "from service.settings import Settings; e = make_embedder(Settings().embedder); "
            "qs = sys.stdin.read().splitlines(); [e.embed_query(q) for q in qs[:3]]; t = []\n"
            "for q in qs:\n s = time.perf_counter(); e.embed_query(q); "
            "t.append(time.perf_counter() - s)\nprint(1000 * statistics.median(t))")
    result = subprocess.run([sys.executable, "-c", code], input="\n".join(questions),
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    return float(result.stdout.strip().splitlines()[-1])


async def run_phase(url: str, endpoint: str, concurrency: int, duration_s: float,
                    max_requests: int, questions: Questions, repeat_share: float,
                    seed: int) -> Phase:
    mix = "distinct" if repeat_share == 0 else f"{int(100 * repeat_share)}% repeated"
    phase = Phase(endpoint, concurrency, mix)
    rng = random.Random(seed)
    field_name = "question" if endpoint == "ask" else "query"
    sent = 0
    deadline = time.perf_counter() + duration_s

    async def user(client: httpx.AsyncClient) -> None:
        nonlocal sent
        while time.perf_counter() < deadline and sent < max_requests:
            sent += 1
            repeated = rng.random() < repeat_share
            question = rng.choice(questions.hot) if repeated else questions.distinct()
            started = time.perf_counter()
            try:
                response = await client.post(f"/api/v1/{endpoint}", json={field_name: question})
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            elapsed = 1000 * (time.perf_counter() - started)
            if ok:
                phase.latencies["repeated" if repeated else "distinct"].append(elapsed)
            else:
                phase.errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(user(client) for _ in range(concurrency)))
        phase.seconds = time.perf_counter() - started
    return phase


async def drive(url: str, args: argparse.Namespace) -> list[Phase]:
    questions = Questions()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:  # warm the hot set
        for question in questions.hot:
            for endpoint, key in (("ask", "question"), ("search", "query")):
                await client.post(f"/api/v1/{endpoint}", json={key: question})
    phases = []
    for seed, (endpoint, concurrency) in enumerate(
            (e, c) for e in ("ask", "search") for c in args.concurrency):
        phase = await run_phase(url, endpoint, concurrency, args.duration, args.max_requests,
                                questions, REPEAT_SHARE, seed)
        progress(f"  /{endpoint} c={concurrency}: {len(phase.all_ms)} ok, {phase.errors} errors, "
                 f"p50 {percentile(phase.all_ms, 50):.0f} ms")
        phases.append(phase)
    phases.append(await run_phase(url, "ask", 8, args.duration, args.max_requests, questions,
                                  0.0, 99))
    progress(f"  /ask c=8 distinct only: {len(phases[-1].all_ms) / phases[-1].seconds:.1f} req/s")
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--max-requests", type=int, default=3000, help="per phase")
    parser.add_argument("--sizes", default="seed,10k")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 8, 32])
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help=f"comma-separated subset of: {', '.join(CONFIGS)}")
    args = parser.parse_args()
    report = Report("bench_query: HTTP latency and throughput vs the embedder floor",
                    "python bench/bench_query.py " + " ".join(sys.argv[1:]))
    floor_rows, phase_rows, target_rows = [], [], []
    for size in args.sizes.split(","):
        settings = datasets.seed_settings() if size == "seed" else \
            datasets.synthetic_settings(int(size.rstrip("k")) * 1000)
        datasets.ensure_index(settings)
        passages = datasets.manifest_of(settings)["passage_count"]
        label = f"{size} ({passages} passages)"
        progress(f"{label}: measuring the floor in process")
        floor = measure_floor(settings, [synthetic.generated_question(10**6 + i)
                                         for i in range(30)])
        floor_rows.append([label, floor.embed_ms, floor.embed_1thread_ms, floor.faiss_ms,
                           floor.bm25_ms, floor.total_ms, floor.embedder_rps,
                           floor.cache_hit_embeddings])
        for config in args.configs.split(","):
            workers, env = CONFIGS[config.strip()]
            progress(f"{label}: {config}")
            with Server({**datasets.env_for(settings), **env}, workers, name=size) as server:
                phases = asyncio.run(drive(server.url, args))
            phase_rows += [p.row(config, size) for p in phases]
            target_rows.append(_targets(label, config, floor, phases))
    report.add("Floor, in process (median ms; embedder throughput = best of one all-core call "
               "or one 1-thread call per core):\n\n" + table(
                   ["index", "embed query", "embed 1 thread", "faiss k=50", "bm25", "floor",
                    "embedder req/s", "embeddings for a repeated query"], floor_rows))
    report.add("HTTP (latency ms; 'distinct p50' = questions never seen, each needs an "
               "embedding; 'repeated p50' = vector in the LRU cache):\n\n" + table(
                   ["index", "server", "endpoint", "c", "mix", "requests", "p50", "p95", "p99",
                    "distinct p50", "repeated p50", "req/s", "errors"], phase_rows))
    report.add("Targets:\n\n" + table(
        ["index", "server", "ask distinct p50 / floor (c=1, ≤1.5)",
         "ask distinct req/s at c=8 / embedder req/s (≥0.8)", "ask p99 at c=32 ms (<1000)",
         "errors (0)"], target_rows))
    report.save()


def _targets(label: str, config: str, floor: Floor, phases: list[Phase]) -> list[object]:
    by_key = {(p.endpoint, p.concurrency, p.mix): p for p in phases}
    c1 = by_key.get(("ask", 1, f"{int(100 * REPEAT_SHARE)}% repeated"))
    c32 = by_key.get(("ask", 32, f"{int(100 * REPEAT_SHARE)}% repeated"))
    distinct = by_key[("ask", 8, "distinct")]
    ratio = percentile(c1.latencies["distinct"], 50) / floor.total_ms if c1 else float("nan")
    throughput = len(distinct.all_ms) / distinct.seconds / floor.embedder_rps
    p99 = percentile(c32.all_ms, 99) if c32 else float("nan")
    return [label, config, ratio, throughput, p99, sum(p.errors for p in phases)]


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
