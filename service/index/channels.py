"""The search channels of a loaded index, asked per question: what retrieval fuses.

A question opens a ``QueryChannels`` over one index version: the dense candidates, the
candidates of each BM25 analyzer (``jieba`` words, ``chars`` bigrams), and for any rows the
retriever gathered, their score in every channel and their document's. ``FaissChannels``
answers from the files of a version folder (FAISS, memory-mapped BM25 postings); the Milvus
store answers from its collections (service/index/milvus_channels.py) with the same
arithmetic, so fusion sees the same numbers whichever store holds the index.
"""

from __future__ import annotations

from typing import Protocol

import faiss
import numpy as np

from service.index.bm25 import BM25Index
from service.index.vector_index import search


class QueryChannels(Protocol):
    def dense_top(self, k: int) -> dict[int, float]:
        """The ``k`` nearest passage rows to the question's vector, best first."""

    def dense_of(self, rows: list[int]) -> dict[int, float]:
        """The question's cosine with each of ``rows`` (0.0 where it cannot be had)."""

    def lexical_top(self, analyzer: str, k: int) -> dict[int, float]:
        """The ``k`` best rows by BM25 over ``analyzer``'s tokens (positive scores only)."""

    def lexical_of(self, analyzer: str, rows: list[int]) -> dict[int, float]:
        """BM25 over ``analyzer``'s tokens of each of ``rows`` (0.0 where no term matches)."""

    def documents_of(self, rows: list[int],
                     left_out: frozenset[int] = frozenset()) -> dict[int, float]:
        """Each row's document score in the document channel, divided by the best one's
        among the documents not ``left_out`` (document rows)."""


class IndexChannels(Protocol):
    has_chars: bool  # the character channel exists (versions built before it have none)
    document_count: int  # rows of the document channel (0: none)
    passage_docs: np.ndarray | None  # passage row -> document row (None: no such channel)

    def for_query(self, query: str, query_vector: np.ndarray | None) -> QueryChannels: ...


class FaissChannels:
    """The channels of a version folder: FAISS vectors and BM25 postings arrays."""

    def __init__(self, vectors: faiss.Index, words: BM25Index, chars: BM25Index | None,
                 doc_chars: BM25Index | None, passage_docs: np.ndarray | None) -> None:
        self.vectors = vectors
        self.lexical = {"jieba": words, "chars": chars}
        self.doc_chars = doc_chars
        self.passage_docs = passage_docs
        self.has_chars = chars is not None
        self.document_count = doc_chars.size if doc_chars is not None else 0

    def for_query(self, query: str, query_vector: np.ndarray | None) -> FaissQuery:
        return FaissQuery(self, query, query_vector)


class FaissQuery:
    """One question over ``FaissChannels``: each analyzer scores every passage once."""

    def __init__(self, channels: FaissChannels, query: str,
                 query_vector: np.ndarray | None) -> None:
        self.channels = channels
        self.query = query
        self.query_vector = query_vector
        self._scores: dict[str, np.ndarray] = {}

    def dense_top(self, k: int) -> dict[int, float]:
        if self.query_vector is None:
            return {}
        return dict(search(self.channels.vectors, self.query_vector, k))

    def dense_of(self, rows: list[int]) -> dict[int, float]:
        """Cosine with passages from the stored vectors in one call; 0.0 where the index
        cannot reconstruct them."""
        if not rows or self.query_vector is None:
            return dict.fromkeys(rows, 0.0)
        try:
            vectors = self.channels.vectors.reconstruct_batch(np.asarray(rows, dtype=np.int64))
        except RuntimeError:
            return dict.fromkeys(rows, 0.0)
        return dict(zip(rows, (vectors @ self.query_vector).tolist(), strict=True))

    def lexical_top(self, analyzer: str, k: int) -> dict[int, float]:
        return dict(top_rows(self._analyzer_scores(analyzer), k))

    def lexical_of(self, analyzer: str, rows: list[int]) -> dict[int, float]:
        scores = self._analyzer_scores(analyzer)
        return {r: float(scores[r]) for r in rows}

    def documents_of(self, rows: list[int],
                     left_out: frozenset[int] = frozenset()) -> dict[int, float]:
        doc_chars, passage_docs = self.channels.doc_chars, self.channels.passage_docs
        assert doc_chars is not None and passage_docs is not None
        scores = doc_chars.scores(self.query)
        kept = np.delete(scores, list(left_out)) if left_out else scores
        best = float(kept.max()) if len(kept) else 0.0
        if best <= 0:
            return dict.fromkeys(rows, 0.0)
        documents = passage_docs[np.asarray(rows, dtype=np.int64)]
        return dict(zip(rows, (scores[documents] / best).tolist(), strict=True))

    def _analyzer_scores(self, analyzer: str) -> np.ndarray:
        if analyzer not in self._scores:
            index = self.channels.lexical[analyzer]
            assert index is not None, f"this index version has no {analyzer} channel"
            self._scores[analyzer] = index.scores(self.query)
        return self._scores[analyzer]


def top_rows(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best rows with a positive score, best first."""
    positive = int(np.count_nonzero(scores > 0))
    k = min(k, positive)
    if k <= 0:
        return []
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(i), float(scores[i])) for i in best]
