"""The search channels of a version stored in Milvus (``vector_store=milvus``).

Milvus finds the candidates: the dense search (FLAT or IVF_SQ8, inner product) and a
sparse inner-product search per BM25 analyzer, whose stored vectors are the passages' BM25
impacts and whose query vector is the question's terms weighted by count × IDF. The
scores fusion uses are then computed here from the candidates' fetched vectors with the
arithmetic ``BM25Index.scores`` uses (float32, terms in the same order), so a question gets
the numbers it gets from a version folder: only the candidate lists come from Milvus.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from service.core.errors import NotReady
from service.index.bm25 import TermStatistics
from service.index.milvus_store import StoredVersion, dense_index
from service.index.vector_index import IndexSpec

FIELDS = {"jieba": "words", "chars": "chars"}  # analyzer -> sparse field of the passages


class MilvusChannels:
    """The channels of one stored version; its collections are named, not the alias, so
    requests in flight finish on the version they started with."""

    def __init__(self, client: Any, stored: StoredVersion) -> None:
        self.client = client
        self.names = stored.names
        self.statistics = stored.statistics
        self.passage_docs = stored.passage_docs
        self.has_chars = True
        self.document_count = stored.statistics["docs"].size
        spec = IndexSpec(**stored.manifest["vector_index"])
        self.dense_params = {"metric_type": "IP", "params": dense_index(spec)[2]}

    def for_query(self, query: str, query_vector: np.ndarray | None) -> MilvusQuery:
        return MilvusQuery(self, query, query_vector)


class MilvusQuery:
    """One question: candidates from Milvus searches, then one fetch of the vectors of
    every row the retriever has seen, scored locally."""

    def __init__(self, channels: MilvusChannels, query: str,
                 query_vector: np.ndarray | None) -> None:
        self.channels = channels
        self.client = channels.client
        self.query = query
        self.query_vector = query_vector
        self._weights: dict[str, list[tuple[int, np.float32]]] = {}
        self._seen: dict[int, None] = {}  # rows of the searches so far, in order
        self._rows: dict[int, dict[str, Any]] = {}  # fetched vectors by row

    def dense_top(self, k: int) -> dict[int, float]:
        if self.query_vector is None:
            return {}
        found = self._search(self.channels.names.passages, "dense",
                             [float(x) for x in self.query_vector], k,
                             self.channels.dense_params)
        return {row: score for row, score in found}

    def dense_of(self, rows: list[int]) -> dict[int, float]:
        if not rows or self.query_vector is None:
            return dict.fromkeys(rows, 0.0)
        fetched = self._fetch(rows)
        vectors = np.asarray([fetched[r]["dense"] for r in rows], dtype=np.float32)
        return dict(zip(rows, (vectors @ self.query_vector).tolist(), strict=True))

    def lexical_top(self, analyzer: str, k: int) -> dict[int, float]:
        """Milvus's best ``k`` by sparse inner product, in its order with its scores (they
        differ from ``lexical_of``'s only by float rounding; fusion takes ``lexical_of``'s,
        fetched later for all candidates in one call)."""
        weights = self._query_weights(analyzer)
        if not weights:
            return {}
        query = {dimension: float(weight) for dimension, weight in weights}
        found = self._search(self.channels.names.passages, FIELDS[analyzer], query, k,
                             {"metric_type": "IP"})
        return {row: score for row, score in found if score > 0}

    def lexical_of(self, analyzer: str, rows: list[int]) -> dict[int, float]:
        weights = self._query_weights(analyzer)
        fetched = self._fetch(rows) if weights else {}
        field = FIELDS[analyzer]
        return {r: float(impact_sum(weights, fetched[r][field])) if weights else 0.0
                for r in rows}

    def documents_of(self, rows: list[int],
                     left_out: frozenset[int] = frozenset()) -> dict[int, float]:
        """The document channel: Milvus finds the best document not ``left_out``; its score
        and those of the rows' documents are computed from their fetched vectors."""
        weights = self._weights_of(self.channels.statistics["docs"], "docs")
        if not weights:
            return dict.fromkeys(rows, 0.0)
        docs_name = self.channels.names.docs
        query = {dimension: float(weight) for dimension, weight in weights}
        found = self._search(docs_name, "chars", query, 1 + len(left_out),
                             {"metric_type": "IP"}, seen=False)
        best = [hit for hit in found if hit[0] not in left_out][:1]
        documents = self.channels.passage_docs[np.asarray(rows, dtype=np.int64)]
        wanted = sorted({int(d) for d in documents} | {row for row, _ in best})
        vectors = {r["row"]: r["chars"] for r in
                   self._call("get", docs_name, ids=wanted, output_fields=["chars"])}
        top = max((impact_sum(weights, vectors[row]) for row, _ in best), default=0.0)
        best_score = float(top)
        if best_score <= 0:
            return dict.fromkeys(rows, 0.0)
        scores = np.asarray([impact_sum(weights, vectors[int(d)]) for d in documents],
                            dtype=np.float32)
        return dict(zip(rows, (scores / best_score).tolist(), strict=True))

    def _search(self, collection: str, field: str, query: Any, k: int,
                params: dict[str, Any], seen: bool = True) -> list[tuple[int, float]]:
        results = self._call("search", collection, data=[query], anns_field=field, limit=k,
                             search_params=params, output_fields=["row"])
        found = [(int(hit["row"]), float(hit["distance"])) for hit in results[0]]
        if seen:
            self._seen.update(dict.fromkeys(row for row, _ in found))
        return found

    def _fetch(self, rows: list[int]) -> dict[int, dict[str, Any]]:
        """Vectors of ``rows``, fetched with those of every row seen so far in one call."""
        missing = [r for r in dict.fromkeys([*rows, *self._seen]) if r not in self._rows]
        if missing:
            fields = ["words", "chars"] + (["dense"] if self.query_vector is not None else [])
            for entity in self._call("get", self.channels.names.passages, ids=missing,
                                    output_fields=fields):
                self._rows[int(entity["row"])] = entity
        return self._rows

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A Milvus call; Milvus down or the version's collections gone is a 503 saying so."""
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except Exception as exc:  # MilvusException, grpc errors
            reason = getattr(exc, "message", None) or str(exc)
            raise NotReady(f"Milvus did not answer a search of {self.channels.names.passages!r} "
                           f"({reason}); check the Milvus server at POLICYBOT_MILVUS_URI, or "
                           "run `policybot reindex` if that version was dropped") from exc

    def _query_weights(self, analyzer: str) -> list[tuple[int, np.float32]]:
        return self._weights_of(self.channels.statistics[FIELDS[analyzer]], analyzer)

    def _weights_of(self, statistics: TermStatistics, key: str) -> list[tuple[int, np.float32]]:
        if key not in self._weights:
            self._weights[key] = statistics.query_weights(self.query)
        return self._weights[key]


def impact_sum(weights: list[tuple[int, np.float32]], vector: dict[int, float]) -> np.float32:
    """BM25 of one row: Σ weight × impact in float32, in the order of ``weights``."""
    score = np.float32(0.0)
    for dimension, weight in weights:
        impact = vector.get(dimension)
        if impact is not None:
            score = score + weight * np.float32(impact)
    return score
