"""Answers from notices in force: a view of an index in which expired and replaced notices
score nothing, so retrieval never returns them and the top k stays full of the others.

The view wraps the index's scorers (BM25 channels and the vector index) and leaves the
retriever unchanged: a retriever over ``in_force(index, statuses)`` answers from notices
in force, one over ``index`` from every notice. Statuses are computed for the status date
(``POLICYBOT_STATUS_DATE``, else today) and kept for the day.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import replace
from typing import Any, cast

import faiss
import numpy as np

from service.index.bm25 import BM25Index
from service.index.policy_status import DocumentStatus, document_statuses
from service.index.store import LoadedIndex
from service.matching.matcher import Match, PolicyMatcher, Profile


class Statuses:
    """The status of each document of one index version on the status date."""

    def __init__(self, index: LoadedIndex, status_date: dt.date | None = None) -> None:
        self.index = index
        self.status_date = status_date
        self._lock = threading.Lock()
        self._day: dt.date | None = None
        self._statuses: dict[str, DocumentStatus] = {}
        self._allowed: np.ndarray | None = None

    def as_of(self) -> dt.date:
        return self.status_date or dt.date.today()

    def by_document(self) -> dict[str, DocumentStatus]:
        self._refresh()
        return self._statuses

    def allowed_rows(self) -> np.ndarray | None:
        """True for each passage row of a notice not lapsed; None when every row is."""
        self._refresh()
        return self._allowed

    def _refresh(self) -> None:
        day = self.as_of()
        if day == self._day:
            return
        with self._lock:
            statuses = document_statuses(self.index.documents, day)
            lapsed = {doc_id for doc_id, status in statuses.items() if status.lapsed}
            allowed = None
            if lapsed:
                allowed = np.fromiter((p.document_id not in lapsed for p in self.index.passages),
                                      dtype=bool, count=len(self.index.passages))
            self._statuses, self._allowed, self._day = statuses, allowed, day


def in_force(index: LoadedIndex, statuses: Statuses) -> LoadedIndex:
    """``index`` as retrieval sees it when lapsed notices are left out."""
    return replace(
        index,
        bm25=cast(BM25Index, _MaskedScores(index.bm25, statuses.allowed_rows)),
        chars=cast(BM25Index, _MaskedScores(index.chars, statuses.allowed_rows))
        if index.chars is not None else None,
        doc_chars=cast(BM25Index, _MaskedScores(index.doc_chars, _document_rows(index, statuses)))
        if index.doc_chars is not None else None,
        vectors=cast(faiss.Index, _MaskedVectors(index.vectors, statuses.allowed_rows)),
    )


def _document_rows(index: LoadedIndex, statuses: Statuses):  # type: ignore[no-untyped-def]
    """The allowed rows of the document channel (one row per document)."""
    def allowed() -> np.ndarray | None:
        rows = statuses.allowed_rows()
        if rows is None or index.passage_docs is None or index.doc_chars is None:
            return None
        documents = np.zeros(index.doc_chars.size, dtype=bool)
        documents[index.passage_docs[rows]] = True
        return documents
    return allowed


class InForceMatcher:
    """A policy matcher whose matches leave out lapsed notices; the cards, taxonomy and
    explanations are the shared matcher's (built once per index version)."""

    def __init__(self, inner: PolicyMatcher, statuses: Statuses) -> None:
        self._inner = inner
        self._statuses = statuses

    def match(self, profile: Profile) -> list[Match]:
        statuses = self._statuses.by_document()
        return [m for m in self._inner.match(profile)
                if not (status := statuses.get(m.card.passage.document_id)) or not status.lapsed]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def in_force_matcher(matcher: PolicyMatcher, statuses: Statuses) -> PolicyMatcher:
    return cast(PolicyMatcher, InForceMatcher(matcher, statuses))


class _MaskedScores:
    """A BM25 index whose ``scores`` are 0 on rows not allowed; everything else delegated."""

    def __init__(self, inner: Any, allowed: Any) -> None:
        self._inner = inner
        self._allowed = allowed

    def scores(self, query: str) -> np.ndarray:
        scores = self._inner.scores(query)
        allowed = self._allowed()
        return scores if allowed is None else np.where(allowed, scores, 0).astype(scores.dtype)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _MaskedVectors:
    """A FAISS index whose ``search`` returns allowed rows only (searching deeper by the
    number left out, so k rows still come back when there are k)."""

    def __init__(self, inner: faiss.Index, allowed: Any) -> None:
        self._inner = inner
        self._allowed = allowed

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        allowed = self._allowed()
        if allowed is None:
            return self._inner.search(queries, k)
        deeper = min(self._inner.ntotal, k + int(np.count_nonzero(~allowed)))
        scores, rows = self._inner.search(queries, deeper)
        kept = [(s, r) for s, r in zip(scores[0], rows[0], strict=True) if r >= 0 and allowed[r]]
        kept = kept[:k] + [(-np.inf, -1)] * (k - len(kept[:k]))
        return (np.array([[s for s, _ in kept]], dtype=np.float32),
                np.array([[r for _, r in kept]], dtype=np.int64))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
