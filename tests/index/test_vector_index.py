"""The FAISS index follows the corpus size, searches close to exact, and is memory-mapped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from service.index.vector_index import (
    IndexSpec,
    build_index,
    choose_spec,
    load_index,
    save_index,
    search,
)

DIM = 384


@pytest.mark.parametrize(("count", "kind"), [
    (31, "flat"), (5_000, "flat"), (5_001, "flat-fp16"), (200_000, "flat-fp16"),
    (200_001, "ivf-sq8"), (1_000_000, "ivf-sq8"),
])
def test_the_index_kind_follows_the_corpus_size(count: int, kind: str) -> None:
    assert choose_spec(count).kind == kind


def test_ivf_lists_and_probes_grow_with_the_corpus() -> None:
    assert choose_spec(1_000_000).params == {"nlist": 4000, "nprobe": 263}
    small, big = choose_spec(200_001).params, choose_spec(5_000_000).params
    assert small["nlist"] < big["nlist"]
    for params, count in ((small, 200_001), (big, 5_000_000)):
        assert params["nprobe"] * count / params["nlist"] >= 65_536  # vectors compared


def clustered_vectors(count: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 50 centres, like passages around topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, DIM))
    vectors = centres[rng.integers(0, 50, count)] + 0.6 * rng.standard_normal((count, DIM))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


SPECS = [IndexSpec("flat"), IndexSpec("flat-fp16"),
         IndexSpec("ivf-sq8", {"nlist": 16, "nprobe": 16})]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.kind)
def test_a_saved_index_loads_memory_mapped_and_finds_the_exact_top_ten(
    tmp_path: Path, spec: IndexSpec
) -> None:
    vectors, queries = clustered_vectors(3000), clustered_vectors(40, seed=1)
    save_index(build_index(vectors, spec), tmp_path)
    index = load_index(tmp_path, spec)

    mapped = Path("/proc/self/maps").read_text()
    assert str(tmp_path / "vectors.faiss") in mapped  # shared file pages, not a private copy
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = [[row for row, _ in search(index, query, 10)] for query in queries]
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
    assert recall >= (1.0 if spec.kind == "flat" else 0.95)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.kind)
def test_stored_vectors_can_be_read_back_for_bm25_only_candidates(
    tmp_path: Path, spec: IndexSpec
) -> None:
    vectors = clustered_vectors(1000)
    save_index(build_index(vectors, spec), tmp_path)
    rows = np.array([3, 999], dtype=np.int64)
    stored = load_index(tmp_path, spec).reconstruct_batch(rows)
    assert np.allclose(np.sum(stored * vectors[rows], axis=1), 1.0, atol=0.02)


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'flat', 'flat-fp16' or 'ivf-sq8'"):
        build_index(clustered_vectors(10), IndexSpec("hnsw"))
