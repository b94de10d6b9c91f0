"""Fusing the dense and BM25 rankings: a normalised score mix (the default) or reciprocal rank."""

from __future__ import annotations


def reciprocal_rank_fusion(
    rankings: list[list[int]], k: int = 60, weights: list[float] | None = None
) -> list[tuple[int, float]]:
    """Fuse ranked lists of row ids: score(row) = sum of w / (k + rank), rank from 1.

    RRF needs no score calibration between BM25 (unbounded) and cosine (0..1), but it drops
    how far ahead a ranking's winner is (``fusion=rrf``; see bench/README.md for how it
    compared); ties keep the order of first appearance.
    """
    if k <= 0:
        raise ValueError(f"rrf k must be > 0, got {k}")
    weights = weights or [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"got {len(weights)} weights for {len(rankings)} rankings")
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])


def score_mix(dense: dict[int, float], lexical: dict[int, float],
              dense_weight: float) -> list[tuple[int, float]]:
    """Convex mix of min-max normalised dense and BM25 scores over the union of candidates.

    Rows missing from one side count as that side's minimum. Unlike RRF this keeps
    how far ahead the best BM25 match is, which matters when one signal is much
    stronger than the other (e5-small on short Chinese questions).
    """
    if not 0 <= dense_weight <= 1:
        raise ValueError(f"dense_weight must be within 0..1, got {dense_weight}")
    rows = list(dict.fromkeys([*dense, *lexical]))
    dense_norm = _min_max(dense, rows)
    lexical_norm = _min_max(lexical, rows)
    fused = {r: dense_weight * dense_norm[r] + (1 - dense_weight) * lexical_norm[r] for r in rows}
    return sorted(fused.items(), key=lambda item: -item[1])


def _min_max(scores: dict[int, float], rows: list[int]) -> dict[int, float]:
    if not scores:
        return {r: 0.0 for r in rows}
    low, high = min(scores.values()), max(scores.values())
    span = high - low or 1.0
    return {r: (scores[r] - low) / span if r in scores else 0.0 for r in rows}


def lexical_mix(dense: dict[int, float], words: dict[int, float], chars: dict[int, float],
                document: dict[int, float], dense_weight: float, chars_weight: float,
                document_weight: float) -> list[tuple[int, float]]:
    """``score_mix`` with the lexical side split between word (jieba) and character BM25
    (``chars_weight`` of it to characters), plus ``document_weight`` × the row's document
    score (already 0..1) added on top. Every row is in ``dense``; missing -> side minimum."""
    for name, value in (("dense_weight", dense_weight), ("chars_weight", chars_weight),
                        ("document_weight", document_weight)):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be within 0..1, got {value}")
    rows = list(dense)
    dense_norm, words_norm = _min_max(dense, rows), _min_max(words, rows)
    chars_norm = _min_max(chars, rows)
    lexical = 1 - dense_weight
    fused = {r: dense_weight * dense_norm[r] + lexical * (1 - chars_weight) * words_norm[r]
             + lexical * chars_weight * chars_norm[r] + document_weight * document.get(r, 0.0)
             for r in rows}
    return sorted(fused.items(), key=lambda item: -item[1])
