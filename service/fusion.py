"""Reciprocal rank fusion of the dense and BM25 rankings."""

from __future__ import annotations


def reciprocal_rank_fusion(
    rankings: list[list[int]], k: int = 60, weights: list[float] | None = None
) -> list[tuple[int, float]]:
    """Fuse ranked lists of row ids: score(row) = sum of w / (k + rank), rank from 1.

    RRF needs no score calibration between BM25 (unbounded) and cosine (0..1),
    which is why it is the default; ties keep the order of first appearance.
    """
    if k <= 0:
        raise ValueError(f"rrf k must be > 0, got {k}")
    weights = weights or [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"got {len(weights)} weights for {len(rankings)} rankings")
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])
