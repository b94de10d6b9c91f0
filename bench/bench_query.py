"""Query latency and throughput over HTTP, against the embedder floor measured in the same run.

    .venv/bin/python bench/bench_query.py [--duration 6] [--sizes seed,10k] [--configs ...]

For each index (the seed corpus, and ~10k synthetic passages with real vectors,
see indexes.py) and each server configuration (workers, OpenMP environment),
starts `policybot serve`, then drives POST /api/v1/ask and /api/v1/search with
a lean asyncio load generator (loadgen.py) at concurrency 1, 8 and 32 for ``--duration``
seconds each (at most ``--max-requests``). Half the questions repeat a hot set
of 20 (their vectors are in the server's LRU cache), half are distinct
questions never sent before (generated from corpus words), so each of those
costs one embedding. A phase at concurrency 8 sends only distinct questions:
its throughput is compared with the embedder alone. Every request opens its own
connection (see run_phase), but in a last phase that repeats concurrency 1 over
one kept-alive connection, as a browser or an HTTP library would.

The floor: one query embedding (in a fresh process with the server's
environment, as OpenMP reads it at start-up) + one FAISS search + one BM25
search (in this process). The embedder ceiling is the best the embedder alone
sustains on this machine: one all-core call at a time, or one single-threaded
call per core, whichever is faster. This machine's speed drifts by ±15% over
minutes, so both are measured right before and right after each server runs,
and each configuration is compared with the mean of its own two measurements.
Drift within those minutes still moves the concurrency-1 ratio, so a second ratio
divides each question's latency by its own embedding as the server timed it (the
Server-Timing header) plus FAISS and BM25: measured in the same milliseconds, it
cannot drift, though it credits the server with any slowness of its own embedding
(the HTTP table shows the server's embedding beside the floor's). The load
generator runs on the same cores as the server: its CPU share is reported.
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

import indexes
import synthetic
from harness import Report, median_ms, percentile, progress, table
from loadgen import HTTPError, LeanClient, run
from server import Server

from service.answering.retrieval import Retriever
from service.core.settings import Settings
from service.embedding.query_vectors import QueryVectors
from service.index.store import load_current
from service.index.vector_index import search

HOT_QUESTIONS = 20
REPEAT_SHARE = 0.5
KEEP_ALIVE = ", keep-alive"  # the phase at c=1 over one kept-alive connection
FLOOR_QUESTIONS = 80  # two full cycles of the question stream's (prefix, template) pairs
ONE_THREAD = {"OMP_NUM_THREADS": "1"}
TWO_THREADS = {"OMP_NUM_THREADS": "2"}
CONFIGS = {  # name -> (workers, environment set, the embedder threads each worker gets)
    "1w": (1, {}, {}),
    "2w": (2, {}, ONE_THREAD),  # serve gives each of 2 workers 1 of the 2 cores
    "2w-2threads": (2, TWO_THREADS, TWO_THREADS),
}
CONFIG_NOTES = {
    "1w": "`policybot serve`, 1 worker (the embedder uses every core)",
    "2w": "`policybot serve --workers 2` (serve sets OMP_NUM_THREADS=1: one core per worker)",
    "2w-2threads": "`--workers 2` with OMP_NUM_THREADS=2 (each worker's embedder on every "
                   "core: oversubscribed, for comparison)",
}
DEFAULT_CONFIGS = "1w,2w"
EMBED_TIMER = """
import sys, time, statistics
from service.embedding.embedders import make_embedder
from service.core.settings import Settings
embedder = make_embedder(Settings().embedder)
questions = sys.stdin.read().splitlines()
for q in questions[:3]:
    embedder.embed_query(q)
times = []
for q in questions:
    started = time.perf_counter()
    embedder.embed_query(q)
    times.append(time.perf_counter() - started)
print(1000 * statistics.median(times))
"""


def embed_ms(env: dict[str, str], questions: list[str]) -> float:
    """Median query embedding time in a fresh process with ``env`` (libgomp reads it at load)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    result = subprocess.run([sys.executable, "-c", EMBED_TIMER], input="\n".join(questions),
                            capture_output=True, text=True, check=True, env={**clean, **env})
    return float(result.stdout.strip().splitlines()[-1])


def embed_ms_by_env(config: str, questions: list[str]) -> dict[str, float]:
    """Query embedding ms with every core, with one thread, and in ``config``'s environment."""
    envs = {_key(e): e for e in [{}, ONE_THREAD, CONFIGS[config][2]]}
    return {key: embed_ms(env, questions) for key, env in envs.items()}


def mean_by_key(first: dict[str, float], second: dict[str, float]) -> dict[str, float]:
    return {key: (first[key] + second[key]) / 2 for key in first}


def _key(env: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(env.items()))


@dataclass
class Floor:
    embed_ms: float
    faiss_ms: float
    bm25_ms: float

    @property
    def total_ms(self) -> float:
        return self.embed_ms + self.faiss_ms + self.bm25_ms


@dataclass
class Phase:
    endpoint: str
    concurrency: int
    mix: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"distinct": [],
                                                                          "repeated": []})
    server_embed_ms: list[float] = field(default_factory=list)  # Server-Timing, per distinct
    own_ratios: list[float] = field(default_factory=list)  # latency / (its embedding + search)
    errors: int = 0
    seconds: float = 0.0
    client_cpu: float = 0.0  # share of one core the load generator used

    @property
    def all_ms(self) -> list[float]:
        return self.latencies["distinct"] + self.latencies["repeated"]

    @property
    def rate(self) -> float:
        return len(self.all_ms) / self.seconds if self.seconds else 0.0

    def row(self, config: str, size: str) -> list[object]:
        ms = self.all_ms
        return [size, config, self.endpoint, self.concurrency, self.mix, len(ms),
                percentile(ms, 50), percentile(ms, 95), percentile(ms, 99),
                percentile(self.latencies["distinct"], 50),
                percentile(self.latencies["repeated"], 50),
                percentile(self.server_embed_ms, 50), self.rate, self.errors,
                round(100 * self.client_cpu)]


class Questions:
    """Hot questions (repeated) and a stream of questions no server has seen."""

    def __init__(self) -> None:
        self.hot = synthetic.real_questions()[:HOT_QUESTIONS]
        self.next_distinct = 0

    def distinct(self) -> str:
        self.next_distinct += 1
        return synthetic.generated_question(self.next_distinct)


def search_costs(settings: Settings, questions: list[str]) -> tuple[float, float, int]:
    """(FAISS ms, BM25 ms, embeddings a repeated query costs), in this process."""
    from service.embedding.embedders import embedder_for

    embedder = embedder_for(settings)
    index = load_current(settings.index_dir, embedder.name)
    vectors = iter([embedder.embed_query(q) for q in questions] * 3)
    faiss_ms = median_ms(lambda: search(index.vectors, next(vectors), settings.candidates),
                         len(questions))
    texts = iter(questions * 3)
    bm25_ms = median_ms(lambda: index.bm25.scores(next(texts)), len(questions))
    query_vectors = QueryVectors(embedder, settings.query_cache_size)
    retriever = Retriever(index, query_vectors, settings)
    retriever.search(questions[0])
    before = query_vectors.misses
    retriever.search(questions[0])  # the same question again: the miss counter must not move
    return faiss_ms, bm25_ms, query_vectors.misses - before


async def run_phase(url: str, endpoint: str, concurrency: int, args: argparse.Namespace,
                    questions: Questions, repeat_share: float, seed: int,
                    keep_alive: bool = False, search_ms: float = 0.0) -> Phase:
    """``search_ms``: FAISS + BM25 in process, added to each question's own embedding."""
    mix = "distinct" if repeat_share == 0 else f"{int(100 * repeat_share)}% repeated"
    mix += KEEP_ALIVE if keep_alive else ""
    phase = Phase(endpoint, concurrency, mix)
    rng = random.Random(seed)
    key = "question" if endpoint == "ask" else "query"
    sent = 0
    deadline = time.perf_counter() + args.duration

    async def user() -> None:
        nonlocal sent
        while time.perf_counter() < deadline and sent < args.max_requests:
            sent += 1
            repeated = rng.random() < repeat_share
            question = rng.choice(questions.hot) if repeated else questions.distinct()
            started = time.perf_counter()
            try:
                reply = await client.post_json(f"/api/v1/{endpoint}", {key: question})
            except HTTPError:
                reply = None
            if reply is None or reply.status != 200:
                phase.errors += 1
                continue
            took_ms = 1000 * (time.perf_counter() - started)
            phase.latencies["repeated" if repeated else "distinct"].append(took_ms)
            if not repeated and "embed" in reply.timing:
                phase.server_embed_ms.append(reply.timing["embed"])
                phase.own_ratios.append(took_ms / (reply.timing["embed"] + search_ms))

    # No keep-alive but in the one phase that asks for it (one user): uvicorn's workers share
    # one listening socket, and a few long-lived connections often all land on one worker
    # (measured: 8 connections, 8:0 in 3 runs of 4), which measures the accept lottery, not
    # the server. Many clients (or nginx's default of one upstream connection per request)
    # spread requests over the workers.
    assert concurrency == 1 or not keep_alive, "one kept-alive connection serves one user"
    client = LeanClient(url, keep_alive=keep_alive)
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    client.close()
    phase.seconds = time.perf_counter() - started
    phase.client_cpu = (time.process_time() - cpu) / phase.seconds
    return phase


async def drive(url: str, args: argparse.Namespace, search_ms: float) -> list[Phase]:
    questions = Questions()
    client = LeanClient(url)
    for _ in range(2):  # warm the hot set, twice: every worker is likely to see them
        for question in questions.hot:
            await client.post_json("/api/v1/ask", {"question": question})
            await client.post_json("/api/v1/search", {"query": question})
    phases = []
    plan = [(e, c, REPEAT_SHARE, False) for e in ("ask", "search") for c in args.concurrency]
    extra = [("ask", 8, 0.0, False), ("ask", 1, REPEAT_SHARE, True)]
    for seed, (endpoint, concurrency, share, keep_alive) in enumerate([*plan, *extra]):
        phase = await run_phase(url, endpoint, concurrency, args, questions, share, seed,
                                keep_alive, search_ms)
        progress(f"  /{endpoint} c={concurrency} {phase.mix}: {len(phase.all_ms)} ok, "
                 f"{phase.errors} errors, p50 {percentile(phase.all_ms, 50):.0f} ms, "
                 f"{phase.rate:.1f} req/s")
        phases.append(phase)
    return phases


def _targets(label: str, config: str, floor: Floor, ceiling: float,
             phases: list[Phase]) -> list[object]:
    mixed = f"{int(100 * REPEAT_SHARE)}% repeated"
    by_key = {(p.endpoint, p.concurrency, p.mix): p for p in phases}
    c1, c32 = by_key.get(("ask", 1, mixed)), by_key.get(("ask", 32, mixed))
    c1_kept = by_key[("ask", 1, mixed + KEEP_ALIVE)]
    distinct = by_key[("ask", 8, "distinct")]
    ratio = percentile(c1.latencies["distinct"], 50) / floor.total_ms if c1 else float("nan")
    kept_ratio = percentile(c1_kept.latencies["distinct"], 50) / floor.total_ms
    own = percentile(c1.own_ratios, 50) if c1 else float("nan")
    p99 = percentile(c32.all_ms, 99) if c32 else float("nan")
    server_share = 1 - distinct.client_cpu / (os.cpu_count() or 1)  # cores left to the server
    return [label, config, floor.total_ms, ratio, own, kept_ratio, distinct.rate,
            distinct.rate / ceiling,
            distinct.rate / (ceiling * server_share), p99, sum(p.errors for p in phases)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per phase")
    parser.add_argument("--max-requests", type=int, default=3000, help="per phase")
    parser.add_argument("--sizes", default="seed,10k")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 8, 32])
    parser.add_argument("--configs", default=DEFAULT_CONFIGS,
                        help="comma-separated subset of: " +
                             "; ".join(f"{k} = {v}" for k, v in CONFIG_NOTES.items()))
    args = parser.parse_args()
    report = Report("bench_query: HTTP latency and throughput vs the embedder floor",
                    "python bench/bench_query.py " + " ".join(sys.argv[1:]))
    floor_questions = [synthetic.generated_question(10**6 + i) for i in range(FLOOR_QUESTIONS)]
    floor_rows, phase_rows, target_rows, ceilings = [], [], [], []
    for size in args.sizes.split(","):
        settings = indexes.seed_settings() if size == "seed" else \
            indexes.synthetic_settings(int(size.rstrip("k")) * 1000)
        indexes.ensure_index(settings)
        label = f"{size} ({indexes.manifest_of(settings)['passage_count']} passages)"
        faiss_ms, bm25_ms, repeat_embeddings = search_costs(settings, floor_questions)
        for config in args.configs.split(","):
            workers, env, worker_env = CONFIGS[config]
            progress(f"{label}, {config}: embedding times, server, embedding times")
            before = embed_ms_by_env(config, floor_questions)
            with Server({**indexes.env_for(settings), **env}, workers, name=size) as server:
                phases = run(drive(server.url, args, faiss_ms + bm25_ms))
            after = embed_ms_by_env(config, floor_questions)
            embedding = mean_by_key(before, after)
            all_core, one_thread = embedding[_key({})], embedding[_key(ONE_THREAD)]
            ceiling = max(1000 / all_core, (os.cpu_count() or 1) * 1000 / one_thread)
            ceilings.append([label, config, all_core, one_thread, ceiling])
            floor = Floor(embedding[_key(worker_env)], faiss_ms, bm25_ms)
            drift = f"{before[_key(worker_env)]:.2f} / {after[_key(worker_env)]:.2f}"
            floor_rows.append([label, config, floor.embed_ms, drift, faiss_ms, bm25_ms,
                               floor.total_ms, repeat_embeddings])
            phase_rows += [p.row(config, size) for p in phases]
            target_rows.append(_targets(label, config, floor, ceiling, phases))
    report.add("Server configurations: " + "; ".join(
        f"`{k}` = {v}" for k, v in CONFIG_NOTES.items() if k in args.configs.split(",")))
    report.add("Floor (median ms; the embedding in a fresh process with the server's "
               "environment, mean of right before and right after the server ran; FAISS k=50 "
               "and BM25 in process):\n\n" + table(
                   ["index", "server", "embed query", "… before / after the server ran",
                    "faiss k=50", "bm25", "floor",
                    "embeddings a repeated query costs"], floor_rows))
    report.add("Embedder ceiling, what the embedder alone sustains (median ms per query "
               "embedding, mean of right before and right after the server ran; ceiling = "
               "max(1000 / all-core ms, cores × 1000 / 1-thread ms)):\n\n" +
               table(["index", "server", "all cores", "1 thread", "ceiling req/s"], ceilings))
    report.add("HTTP (latency ms; 'distinct p50' = questions never seen, each needs an "
               "embedding; 'repeated p50' = vector in the LRU cache; 'server's embed p50' = "
               "the embedding of a distinct question as the server's Server-Timing header "
               "reports it, with the hand-off to the model thread, or under load the wait "
               "for a lane):\n\n" + table(
                   ["index", "server", "endpoint", "c", "mix", "requests", "p50", "p95", "p99",
                    "distinct p50", "repeated p50", "server's embed p50", "req/s", "errors",
                    "client CPU %"],
                   phase_rows))
    report.add("Targets:\n\n" + table(
        ["index", "server", "floor ms", "ask distinct p50 / floor at c=1 (≤1.5)",
         "… p50 of each question's latency / (its own embedding in the server + FAISS + BM25)",
         "… with one kept-alive connection", "ask distinct req/s at c=8",
         "… / embedder ceiling (≥0.8)",
         "… / ceiling × share of the cores the load generator left", "ask p99 at c=32 ms (<1000)",
         "errors (0)"], target_rows))
    report.save()


if __name__ == "__main__":
    main()
