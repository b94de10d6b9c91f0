"""Answers from notices in force: a view of an index in which expired and replaced notices
score nothing, so retrieval never returns them and the top k stays full of the others.

The view wraps the index's search channels (FAISS or Milvus) and leaves the
retriever unchanged: a retriever over ``in_force(index, statuses)`` answers from notices
in force, one over ``index`` from every notice. Statuses are computed for the status date
(``POLICYBOT_STATUS_DATE``, else today) and kept for the day.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import numpy as np

from service.index.channels import IndexChannels, QueryChannels
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
    """``index`` as retrieval sees it when lapsed notices are left out: its channels (FAISS
    or Milvus alike) never return their passages as candidates."""
    return replace(index, search=_MaskedChannels(index.channels, statuses.allowed_rows))


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


class _MaskedChannels:
    """Index channels whose candidate lists leave out rows not allowed."""

    def __init__(self, inner: IndexChannels, allowed: Callable[[], np.ndarray | None]) -> None:
        self._inner = inner
        self._allowed = allowed
        self.has_chars = inner.has_chars
        self.document_count = inner.document_count
        self.passage_docs = inner.passage_docs
        self._left_out: tuple[np.ndarray | None, frozenset[int]] = (None, frozenset())

    def for_query(self, query: str, query_vector: np.ndarray | None) -> QueryChannels:
        asked = self._inner.for_query(query, query_vector)
        allowed = self._allowed()
        if allowed is None:
            return asked
        return _MaskedQuery(asked, allowed, self._documents_left_out(allowed))

    def _documents_left_out(self, allowed: np.ndarray) -> frozenset[int]:
        """The document rows of the passages not allowed (a notice is left out whole)."""
        known, documents = self._left_out
        if known is not allowed:
            docs = self.passage_docs
            documents = frozenset() if docs is None else frozenset(
                np.unique(docs[~allowed]).tolist())
            self._left_out = (allowed, documents)
        return documents


class _MaskedQuery:
    """One question's channels without the rows not allowed; the top lists are asked deeper
    by the number left out, so k rows still come back when there are k."""

    def __init__(self, inner: QueryChannels, allowed: np.ndarray,
                 documents_left_out: frozenset[int]) -> None:
        self._inner = inner
        self._allowed = allowed
        self._left_out = int(np.count_nonzero(~allowed))
        self._documents_left_out = documents_left_out

    def dense_top(self, k: int) -> dict[int, float]:
        return self._kept(self._inner.dense_top(k + self._left_out), k)

    def lexical_top(self, analyzer: str, k: int) -> dict[int, float]:
        return self._kept(self._inner.lexical_top(analyzer, k + self._left_out), k)

    def dense_of(self, rows: list[int]) -> dict[int, float]:
        return self._inner.dense_of(rows)

    def lexical_of(self, analyzer: str, rows: list[int]) -> dict[int, float]:
        return self._inner.lexical_of(analyzer, rows)

    def documents_of(self, rows: list[int],
                     left_out: frozenset[int] = frozenset()) -> dict[int, float]:
        """Normalised by the best document still allowed, as if the others were never
        indexed (the left-out notice would otherwise set the scale)."""
        return self._inner.documents_of(rows, left_out | self._documents_left_out)

    def _kept(self, ranked: dict[int, float], k: int) -> dict[int, float]:
        kept = [(row, score) for row, score in ranked.items() if self._allowed[row]]
        return dict(kept[:k])
