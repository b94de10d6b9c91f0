"""FAISS inner-product search over normalised passage vectors; the index type follows the size."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

EXACT_MAX = 5_000  # float32 vectors, exact scores (7.3 MiB at 5k: room beside the model in L3)
FLAT_MAX = 200_000  # every vector compared; above EXACT_MAX stored as float16
MIN_SCANNED = 65_536  # vectors an IVF search compares at least
FILE_NAME = "vectors.faiss"


@dataclass(frozen=True)
class IndexSpec:
    """Which FAISS index to build, recorded in the manifest."""

    kind: str  # "flat" | "flat-fp16" | "ivf-sq8"
    params: dict[str, Any] = field(default_factory=dict)


def choose_spec(count: int) -> IndexSpec:
    """Exact search up to ``EXACT_MAX`` passages; then every vector compared in float16 up
    to ``FLAT_MAX``; beyond, an IVF index with 8-bit codes that probes 1/16 of its lists,
    or more so that a search compares ``MIN_SCANNED`` vectors.

    Float16 halves the bytes a search reads, and so what it pushes out of the CPU cache
    right after a query embedding; it kept recall@10 above 0.99 up to 200k. Probing too few
    IVF lists lost a fifth of the true top 10 at 1M, hence the floor on vectors scanned.
    The measurements are in bench/README.md ("Running bigger", the 1M table) from
    bench/bench_scale.py.
    """
    if count <= EXACT_MAX:
        return IndexSpec("flat")
    if count <= FLAT_MAX:
        return IndexSpec("flat-fp16")
    return ivf_spec(count)


def ivf_spec(count: int) -> IndexSpec:
    """IVF-SQ8 for ``count`` vectors: nlist ≈ 4√count, and enough probes to compare 1/16
    of the lists or ``MIN_SCANNED`` vectors, whichever is more."""
    nlist = int(min(65536, max(1024, 4 * np.sqrt(count))))
    nprobe = min(nlist, max(nlist // 16, -(-nlist * MIN_SCANNED // count)))
    return IndexSpec("ivf-sq8", {"nlist": nlist, "nprobe": nprobe})


def build_index(vectors: np.ndarray, spec: IndexSpec) -> faiss.Index:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    index: faiss.Index
    if spec.kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif spec.kind == "flat-fp16":
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16,
                                           faiss.METRIC_INNER_PRODUCT)
        index.train(vectors[:1])  # float16 codes need no statistics
    elif spec.kind == "ivf-sq8":
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, spec.params["nlist"], faiss.ScalarQuantizer.QT_8bit,
            faiss.METRIC_INNER_PRODUCT,
        )
        order = np.random.default_rng(0).permutation(len(vectors))
        sample = vectors[order[: 64 * spec.params["nlist"]]]
        index.train(sample)
        faiss.extract_index_ivf(index).nprobe = spec.params["nprobe"]
    else:
        raise ValueError(f"unknown index kind {spec.kind!r}; use 'flat', 'flat-fp16' or "
                         "'ivf-sq8'")
    index.add(vectors)
    return index


def save_index(index: faiss.Index, folder: Path) -> None:
    faiss.write_index(index, str(folder / FILE_NAME))


def load_index(folder: Path, spec: IndexSpec) -> faiss.Index:
    """Read the index memory-mapped, so workers share its pages instead of each holding a copy.

    Each kind needs its own flag: ``IO_FLAG_MMAP`` maps IVF lists but silently reads a
    flat index into private memory; ``IO_FLAG_MMAP_IFC`` maps flat codes (faiss >= 1.9).
    """
    path = str(folder / FILE_NAME)
    try:
        index = faiss.read_index(path, _mmap_flags(spec.kind))
    except RuntimeError:
        index = faiss.read_index(path)
    if spec.kind == "ivf-sq8":
        ivf = faiss.extract_index_ivf(index)
        ivf.nprobe = spec.params["nprobe"]
        ivf.make_direct_map()  # reconstruct(): dense scores of BM25-only candidates (8 B/vector)
    return index


def _mmap_flags(kind: str) -> int:
    if kind.startswith("ivf"):
        return faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY
    return getattr(faiss, "IO_FLAG_MMAP_IFC", faiss.IO_FLAG_READ_ONLY)


def search(index: faiss.Index, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best (row, score) pairs for one query, searched on the calling thread only.

    OpenMP threads make one query slower (about twice, at 10k flat vectors) and then spin
    on the other core, which the embedder needs; the setting is per thread.
    """
    if index.ntotal == 0:
        return []
    k = min(k, index.ntotal)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        scores, rows = index.search(np.asarray(query_vector, dtype=np.float32).reshape(1, -1), k)
    finally:
        faiss.omp_set_num_threads(threads)
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
