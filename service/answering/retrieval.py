"""Hybrid retrieval: FAISS (dense) and BM25 candidates, fused by a normalised score mix
(``fusion=mix``, the default) or by reciprocal rank (``fusion=rrf``)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from service.answering.fusion import lexical_mix, reciprocal_rank_fusion, score_mix
from service.core.models import Hit
from service.core.settings import Settings
from service.embedding.query_vectors import QueryVectors
from service.index.store import LoadedIndex
from service.index.vector_index import search

Mode = Literal["hybrid", "dense", "bm25", "chars"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25", "chars")
MIN_PASSAGES_PER_DOCUMENT = 1.5  # the document channel needs documents longer than a passage
class Retriever:
    """Dense (FAISS) and BM25 candidates, fused by RRF or by a normalised score mix."""

    def __init__(self, index: LoadedIndex, query_vectors: QueryVectors,
                 settings: Settings) -> None:
        """Fusion, its weights and the candidate depth come from ``settings`` (their defaults
        live there only)."""
        self.index = index
        self.query_vectors = query_vectors
        self.candidates = settings.candidates
        self.rrf_k = settings.rrf_k
        self.weights = (settings.rrf_dense_weight, settings.rrf_bm25_weight)  # for RRF
        self.fusion = settings.fusion
        self.mix_dense_weight = settings.mix_dense_weight
        self.mix_chars_weight = settings.mix_chars_weight  # lexical share for char BM25
        self.mix_document_weight = settings.mix_document_weight  # added: document channel

    def search(self, query: str, top_k: int = 5, mode: Mode = "hybrid") -> list[Hit]:
        """The ``top_k`` passages for ``query``, each with fused and component scores."""
        if mode == "chars" and self.index.chars is None:
            mode = "bm25"  # an index built before the character channel
        query_vector = self.query_vectors.get(query) if mode in ("hybrid", "dense") else None
        dense = dict(search(self.index.vectors, query_vector, self.candidates)) \
            if query_vector is not None else {}
        bm25_scores = self.index.bm25.scores(query)
        lexical = dict(_top_rows(bm25_scores, self.candidates)) if mode in ("hybrid", "bm25") \
            else {}
        chars = self._chars(query, mode)
        char_rows = dict(_top_rows(chars, self.candidates)) if chars is not None else {}
        rows = list(dict.fromkeys([*dense, *lexical, *char_rows]))
        others = self._dense_scores([r for r in rows if r not in dense], query_vector)
        dense_all = {r: dense[r] if r in dense else others[r] for r in rows}
        if mode == "chars":
            fused = list(char_rows.items())
        else:
            fused = self._fuse(dense, lexical, dense_all, bm25_scores, chars, query, mode)
        return [
            Hit(passage=self.index.passages[row], score=round(score, 6),
                dense_score=round(dense_all[row], 6), bm25_score=round(float(bm25_scores[row]), 6))
            for row, score in fused[:top_k]
        ]

    def _chars(self, query: str, mode: Mode) -> np.ndarray | None:
        """Character BM25 of every passage, when the index has it and a mode uses it."""
        if self.index.chars is None or mode not in ("hybrid", "chars"):
            return None
        if mode == "hybrid" and not self.mix_chars_weight:
            return None
        return self.index.chars.scores(query)

    def _fuse(self, dense: dict[int, float], lexical: dict[int, float],
              dense_all: dict[int, float], bm25_scores: np.ndarray, chars: np.ndarray | None,
              query: str, mode: Mode) -> list[tuple[int, float]]:
        if mode != "hybrid" or self.fusion == "rrf":
            rankings = [list(dense), list(lexical)]
            return reciprocal_rank_fusion(rankings, k=self.rrf_k, weights=list(self.weights))
        bm25_all = {r: float(bm25_scores[r]) for r in dense_all}
        if chars is None and not self._document_channel():
            return score_mix(dense_all, bm25_all, self.mix_dense_weight)
        chars_all = {r: float(chars[r]) for r in dense_all} if chars is not None else {}
        document = self._document_scores(query, list(dense_all)) \
            if self._document_channel() else {}
        return lexical_mix(dense_all, bm25_all, chars_all, document, self.mix_dense_weight,
                           self.mix_chars_weight, self.mix_document_weight)

    def _document_channel(self) -> bool:
        """On when weighted and the documents average at least ``MIN_PASSAGES_PER_DOCUMENT``
        passages: in a corpus of one-passage answers (an FAQ) it only repeats the character
        channel."""
        doc_chars = self.index.doc_chars
        return (bool(self.mix_document_weight) and doc_chars is not None and doc_chars.size > 0
                and len(self.index.passages) >= MIN_PASSAGES_PER_DOCUMENT * doc_chars.size)

    def _document_scores(self, query: str, rows: list[int]) -> dict[int, float]:
        """The document channel's score of each row's document, divided by the best one."""
        assert self.index.doc_chars is not None and self.index.passage_docs is not None
        scores = self.index.doc_chars.scores(query)
        best = float(scores.max()) if len(scores) else 0.0
        if best <= 0:
            return dict.fromkeys(rows, 0.0)
        documents = self.index.passage_docs[np.asarray(rows, dtype=np.int64)]
        return dict(zip(rows, (scores[documents] / best).tolist(), strict=True))

    def _dense_scores(self, rows: list[int], query_vector: np.ndarray | None) -> dict[int, float]:
        """Cosine of the query with passages the dense search did not return (BM25-only rows),
        from the stored vectors in one call; 0.0 where the index cannot reconstruct them."""
        if not rows or query_vector is None:
            return dict.fromkeys(rows, 0.0)
        try:
            vectors = self.index.vectors.reconstruct_batch(np.asarray(rows, dtype=np.int64))
        except RuntimeError:
            return dict.fromkeys(rows, 0.0)
        return dict(zip(rows, (vectors @ query_vector).tolist(), strict=True))


def _top_rows(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    positive = int(np.count_nonzero(scores > 0))
    k = min(k, positive)
    if k <= 0:
        return []
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(i), float(scores[i])) for i in best]
