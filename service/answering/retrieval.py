"""Hybrid retrieval: dense (FAISS or Milvus) and BM25 candidates, fused by a normalised score mix
(``fusion=mix``, the default) or by reciprocal rank (``fusion=rrf``)."""

from __future__ import annotations

from typing import Literal

from service.answering.fusion import lexical_mix, reciprocal_rank_fusion, score_mix
from service.core.models import Hit
from service.core.settings import Settings
from service.embedding.query_vectors import QueryVectors
from service.index.channels import QueryChannels
from service.index.store import LoadedIndex

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
        channels = self.index.channels
        if mode == "chars" and not channels.has_chars:
            mode = "bm25"  # an index built before the character channel
        query_vector = self.query_vectors.get(query) if mode in ("hybrid", "dense") else None
        asked = channels.for_query(query, query_vector)
        dense = asked.dense_top(self.candidates)
        lexical = asked.lexical_top("jieba", self.candidates) if mode in ("hybrid", "bm25") \
            else {}
        chars = self._uses_chars(mode)
        char_rows = asked.lexical_top("chars", self.candidates) if chars else {}
        rows = list(dict.fromkeys([*dense, *lexical, *char_rows]))
        others = asked.dense_of([r for r in rows if r not in dense])
        dense_all = {r: dense[r] if r in dense else others[r] for r in rows}
        bm25_all = asked.lexical_of("jieba", rows)
        if mode == "chars":
            fused = list(char_rows.items())
        else:
            fused = self._fuse(dense, lexical, dense_all, bm25_all, asked, chars, mode)
        return [
            Hit(passage=self.index.passages[row], score=round(score, 6),
                dense_score=round(dense_all[row], 6), bm25_score=round(bm25_all[row], 6))
            for row, score in fused[:top_k]
        ]

    def _uses_chars(self, mode: Mode) -> bool:
        """Character BM25 counts when the index has it and a mode uses it."""
        if not self.index.channels.has_chars or mode not in ("hybrid", "chars"):
            return False
        return mode == "chars" or bool(self.mix_chars_weight)

    def _fuse(self, dense: dict[int, float], lexical: dict[int, float],
              dense_all: dict[int, float], bm25_all: dict[int, float], asked: QueryChannels,
              chars: bool, mode: Mode) -> list[tuple[int, float]]:
        if mode != "hybrid" or self.fusion == "rrf":
            rankings = [list(dense), list(lexical)]
            return reciprocal_rank_fusion(rankings, k=self.rrf_k, weights=list(self.weights))
        if not chars and not self._document_channel():
            return score_mix(dense_all, bm25_all, self.mix_dense_weight)
        chars_all = asked.lexical_of("chars", list(dense_all)) if chars else {}
        document = asked.documents_of(list(dense_all)) if self._document_channel() else {}
        return lexical_mix(dense_all, bm25_all, chars_all, document, self.mix_dense_weight,
                           self.mix_chars_weight, self.mix_document_weight)

    def _document_channel(self) -> bool:
        """On when weighted and the documents average at least ``MIN_PASSAGES_PER_DOCUMENT``
        passages: in a corpus of one-passage answers (an FAQ) it only repeats the character
        channel."""
        documents = self.index.channels.document_count
        return (bool(self.mix_document_weight) and documents > 0
                and len(self.index.passages) >= MIN_PASSAGES_PER_DOCUMENT * documents)
