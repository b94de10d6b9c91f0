"""Reindex throughput against the raw embedder, and the warm reindex of the seed corpus.

    .venv/bin/python bench/bench_ingest.py [--passages 2000] [--raw-share 0.25]

1. ~2k synthetic passages (synthetic.py), reindexed cold (empty embedding cache
   and no index), then warm twice: with the cache but no index (every passage is
   re-chunked, vectors come from the cache), and with both (unchanged corpus).
2. The raw embedder on the same passage texts, in the same batches, half before
   and half after the cold reindex (the machine's load drifts): passages/s.
3. `policybot reindex` of the unchanged seed corpus as a subprocess (imports,
   model and jieba load included), and the same reindex in process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

import indexes
import numpy as np
from harness import Report, progress, table
from server import POLICYBOT

from service.core.settings import Settings
from service.embedding.embedders import Embedder, embedder_for
from service.index.build import embedding_text, reindex
from service.ingest.chunking import ChunkingParams, chunk_document
from service.ingest.corpus import load_corpus


class TimedEmbedder:
    """Wraps an embedder and adds up the time spent inside ``embed_passages``."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.query_lanes = inner.query_lanes
        self.seconds = 0.0

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.inner.embed_passages(texts)
        finally:
            self.seconds += time.perf_counter() - started

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)


def raw_rate(embedder: Embedder, texts: list[str], batch_size: int) -> float:
    """Passages per second of the embedder alone, in the batches reindex uses."""
    started = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        embedder.embed_passages(texts[i : i + batch_size])
    return len(texts) / (time.perf_counter() - started)


def passage_texts(settings: Settings) -> list[str]:
    params = ChunkingParams(settings.chunk_size, settings.chunk_overlap)
    texts = [embedding_text(p) for d in load_corpus(settings.corpus_dir)
             for p in chunk_document(d, params)]
    return list(dict.fromkeys(texts))


def ingest_rows(args: argparse.Namespace) -> tuple[list[list[object]], list[list[object]]]:
    corpus = indexes.synthetic_settings(args.passages).corpus_dir
    settings = indexes.settings_for("ingest", corpus, indexes.OUT / "ingest-data")
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    embedder = TimedEmbedder(embedder_for(settings))
    texts = passage_texts(settings)
    raw_count = max(64, int(len(texts) * args.raw_share) // 2)
    rng = np.random.default_rng(0)
    sample = [texts[i] for i in rng.permutation(len(texts))[: 2 * raw_count]]
    embedder.inner.embed_passages(sample[:4])  # warm-up
    progress(f"raw embedder on {raw_count} passages (before)")
    raw_before = raw_rate(embedder.inner, sample[:raw_count], settings.embed_batch_size)
    progress(f"cold reindex of {len(texts)} passages")
    cold = reindex(settings, embedder, wait=True, progress=True)
    cold_embed_s = embedder.seconds
    progress(f"raw embedder on {raw_count} passages (after)")
    raw_after = raw_rate(embedder.inner, sample[raw_count:], settings.embed_batch_size)
    raw = (raw_before + raw_after) / 2
    shutil.rmtree(settings.index_dir)
    cache_only = reindex(settings, embedder, wait=True, progress=False)
    warm = reindex(settings, embedder, wait=True, progress=False)
    rows = [
        ["raw embedder, before the cold reindex", raw_count, raw_count, raw_count / raw_before,
         raw_before, raw_before / raw],
        ["raw embedder, after the cold reindex", raw_count, raw_count, raw_count / raw_after,
         raw_after, raw_after / raw],
        ["reindex cold (empty cache, no index)", cold.passages, cold.embedded, cold.seconds,
         cold.passages / cold.seconds, cold.passages / cold.seconds / raw],
        ["reindex warm (cache, no index)", cache_only.passages, cache_only.embedded,
         cache_only.seconds, cache_only.passages / cache_only.seconds, float("nan")],
        ["reindex warm (cache + unchanged index)", warm.passages, warm.embedded, warm.seconds,
         warm.passages / warm.seconds, float("nan")],
    ]
    split = [["embedder calls", cold_embed_s, 100 * cold_embed_s / cold.seconds],
             ["everything else (chunking, cache, FAISS, BM25, files)",
              cold.seconds - cold_embed_s, 100 * (1 - cold_embed_s / cold.seconds)]]
    return rows, split


def seed_rows() -> list[list[object]]:
    settings = indexes.seed_settings()
    indexes.ensure_index(settings)
    env = {**os.environ, **indexes.env_for(settings), "POLICYBOT_KEEP_VERSIONS": "1"}
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([str(POLICYBOT), "reindex"], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    embedder = embedder_for(settings)
    reindex(settings, embedder, wait=True, progress=False)
    started = time.perf_counter()
    result = reindex(settings, embedder, wait=True, progress=False)
    in_process = time.perf_counter() - started
    passages = result.passages
    return [["`policybot reindex` (subprocess, median of 3)", passages, float(np.median(times))],
            ["reindex() in a warm process", passages, in_process]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--raw-share", type=float, default=0.25,
                        help="share of the passages the raw embedder embeds (half before, "
                             "half after the cold reindex)")
    args = parser.parse_args()
    report = Report("bench_ingest: reindex vs the raw embedder",
                    "python bench/bench_ingest.py " + " ".join(sys.argv[1:]))
    progress("warm reindex of the seed corpus")
    seed = seed_rows()
    rows, split = ingest_rows(args)
    report.add(f"Synthetic corpus, batch size {Settings().embed_batch_size}:\n\n" + table(
        ["run", "passages", "embedded", "seconds", "passages/s", "ratio to raw mean (≥0.9)"], rows))
    report.add("Where the cold reindex's time goes:\n\n" + table(
        ["part", "seconds", "% of cold reindex"], split))
    report.add("Warm reindex of the unchanged seed corpus (target ≤ 3 s):\n\n" + table(
        ["run", "passages", "seconds"], seed))
    report.save()


if __name__ == "__main__":
    main()
