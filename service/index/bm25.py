"""Okapi BM25 over jieba tokens, stored as postings arrays that processes memory-map."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.index.lexical import char_tokens, query_char_tokens
from service.index.tokenizer import query_tokens, tokenize

K1 = 1.5
B = 0.75
ARRAYS = ("offsets", "doc_ids", "impacts", "doc_lengths")  # one bm25_<name>.npy each
LEGACY_ARRAYS = "bm25.npz"  # written before the .npy files: term frequencies, not impacts
VOCABULARY = "bm25_vocab.json"
# analyzer -> (tokens of an indexed text, tokens of a query, file prefix)
ANALYZERS = {
    "jieba": (tokenize, query_tokens, "bm25"),
    "chars": (char_tokens, query_char_tokens, "chars"),
}


@dataclass(frozen=True)
class BM25Index:
    vocabulary: dict[str, int]  # term -> row in offsets
    offsets: np.ndarray  # int64, len(vocab)+1: postings of term t are [offsets[t], offsets[t+1])
    doc_ids: np.ndarray  # int32 passage rows
    impacts: np.ndarray  # float32 length-normalised tf of each posting (posting_impacts)
    doc_lengths: np.ndarray  # float32 tokens per passage
    analyzer: str = "jieba"  # "jieba" words or "chars" (normalised CJK uni+bigrams)

    @property
    def size(self) -> int:
        return len(self.doc_lengths)

    def idf(self, term: str) -> float:
        """Inverse document frequency; a term the index never saw gets the highest value."""
        row = self.vocabulary.get(term)
        df = 0.0 if row is None else float(self.offsets[row + 1] - self.offsets[row])
        return float(np.log(1.0 + (self.size - df + 0.5) / (df + 0.5)))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros where no term matches)."""
        return self.scores_for_tokens(ANALYZERS[self.analyzer][1](query))

    def scores_for_tokens(self, tokens: tuple[str, ...] | list[str]) -> np.ndarray:
        """BM25 score of every passage for already analysed query ``tokens``."""
        scores = np.zeros(self.size, dtype=np.float32)
        if not self.size:
            return scores
        for term, count in Counter(tokens).items():
            row = self.vocabulary.get(term)
            if row is None:
                continue
            lo, hi = self.offsets[row], self.offsets[row + 1]
            scores[self.doc_ids[lo:hi]] += np.float32(count * self.idf(term)) * self.impacts[lo:hi]
        return scores

    def save(self, folder: Path, prefix: str | None = None) -> None:
        """One .npy file per array, for ``load`` to memory-map, and the terms in row order."""
        prefix = prefix or ANALYZERS[self.analyzer][2]
        for name in ARRAYS:
            np.save(_array_path(folder, name, prefix), getattr(self, name))
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        (folder / f"{prefix}_vocab.json").write_text(json.dumps(terms, ensure_ascii=False),
                                                    "utf-8")

    @classmethod
    def load(cls, folder: Path, analyzer: str = "jieba", prefix: str | None = None) -> BM25Index:
        """Memory-map the arrays read-only: the worker processes share one copy (the page
        cache) and nothing is computed over the postings. The files must never be rewritten
        in place; index versions are written once. A folder saved before the .npy files
        holds ``bm25.npz`` instead, which is read into memory and its impacts computed."""
        if analyzer == "jieba" and (folder / LEGACY_ARRAYS).exists():
            return _load_legacy(folder)
        prefix = prefix or ANALYZERS[analyzer][2]
        offsets, doc_ids, impacts, doc_lengths = (_map_array(folder, name, prefix)
                                                  for name in ARRAYS)
        return cls(_read_vocabulary(folder, prefix), offsets, doc_ids, impacts, doc_lengths,
                   analyzer)

    @classmethod
    def exists(cls, folder: Path, analyzer: str, prefix: str | None = None) -> bool:
        return (folder / f"{prefix or ANALYZERS[analyzer][2]}_vocab.json").exists()

    def statistics(self) -> TermStatistics:
        """The vocabulary, document frequencies and row count: what weighs a query."""
        return TermStatistics(self.vocabulary, np.diff(self.offsets), self.size, self.analyzer)

    def row_impacts(self) -> list[tuple[list[int], list[float]]]:
        """(term rows, impacts) of each passage row: the postings turned row-wise, for a
        store that keeps one sparse vector a passage (BM25 = that vector · the query's
        ``TermStatistics.query_weights``)."""
        terms = np.repeat(np.arange(len(self.offsets) - 1, dtype=np.int64), np.diff(self.offsets))
        order = np.argsort(self.doc_ids, kind="stable")
        bounds = np.searchsorted(self.doc_ids[order], np.arange(self.size + 1))
        sorted_terms, sorted_impacts = terms[order].tolist(), self.impacts[order].tolist()
        return [(sorted_terms[lo:hi], sorted_impacts[lo:hi])
                for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]


@dataclass(frozen=True)
class TermStatistics:
    """A BM25 index without its postings: enough to weigh a question's terms (the IDF
    ``BM25Index`` uses, the same arithmetic) when the postings live elsewhere (Milvus)."""

    vocabulary: dict[str, int]  # term -> row
    document_frequencies: np.ndarray  # int64 rows holding each term
    size: int  # rows (passages or documents)
    analyzer: str = "jieba"

    def idf(self, term: str) -> float:
        row = self.vocabulary.get(term)
        df = 0.0 if row is None else float(self.document_frequencies[row])
        return float(np.log(1.0 + (self.size - df + 0.5) / (df + 0.5)))

    def query_weights(self, query: str) -> list[tuple[int, np.float32]]:
        """(term row, count × IDF) of each known term of ``query``, in the order
        ``BM25Index.scores`` adds them: a passage's score is the float32 sum of weight ×
        impact over these, taken in this order."""
        tokens = ANALYZERS[self.analyzer][1](query)
        return [(self.vocabulary[term], np.float32(count * self.idf(term)))
                for term, count in Counter(tokens).items() if term in self.vocabulary]


def posting_impacts(term_freqs: np.ndarray, doc_ids: np.ndarray,
                    doc_lengths: np.ndarray) -> np.ndarray:
    """tf·(k1+1) / (tf + k1·(1−b+b·length/mean length)) of every posting, float32: a query
    then costs one multiply-add per posting of its terms instead of five array passes and a
    length norm of every passage (1.2 -> 0.75 ms at 100k passages, bench/bench_scale.py)."""
    mean_length = max(float(doc_lengths.mean()), 1.0) if len(doc_lengths) else 1.0
    norm = K1 * (1 - B + B * doc_lengths / mean_length)
    return (term_freqs * (K1 + 1) / (term_freqs + norm[doc_ids])).astype(np.float32)


def build_bm25(texts: list[str], analyzer: str = "jieba") -> BM25Index:
    """Postings sorted by term, then row; counted with numpy (a character analyzer yields
    ~600 tokens a passage, which per-token dict appends made the slow part of a reindex)."""
    analyze = ANALYZERS[analyzer][0]
    ids: dict[str, int] = {}
    term_rows: list[np.ndarray] = []
    lengths = np.zeros(len(texts), dtype=np.float32)
    for row, text in enumerate(texts):
        tokens = analyze(text)
        lengths[row] = len(tokens)
        term_rows.append(np.fromiter((ids.setdefault(t, len(ids)) for t in tokens),
                                     dtype=np.int64, count=len(tokens)) * len(texts) + row)
    terms = sorted(ids)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[[ids[t] for t in terms]] = np.arange(len(terms), dtype=np.int64)
    keys = np.concatenate(term_rows) if term_rows else np.zeros(0, dtype=np.int64)
    n = max(len(texts), 1)
    keys = rank[keys // n] * n + keys % n
    unique, counts = np.unique(keys, return_counts=True)  # sorted: by term rank, then row
    term_of, doc_ids = unique // n, (unique % n).astype(np.int32)
    offsets = np.searchsorted(term_of, np.arange(len(terms) + 1)).astype(np.int64)
    impacts = posting_impacts(counts.astype(np.float32), doc_ids, lengths)
    return BM25Index({t: i for i, t in enumerate(terms)}, offsets, doc_ids, impacts, lengths,
                     analyzer)


def _array_path(folder: Path, name: str, prefix: str = "bm25") -> Path:
    return folder / f"{prefix}_{name}.npy"


def _map_array(folder: Path, name: str, prefix: str = "bm25") -> np.ndarray:
    """A read-only plain ndarray over the mapped file: np.memmap runs Python hooks on every
    slice and result, ~0.03 ms a query at 100k passages."""
    return np.load(_array_path(folder, name, prefix), mmap_mode="r").view(np.ndarray)


def _read_vocabulary(folder: Path, prefix: str = "bm25") -> dict[str, int]:
    terms = json.loads((folder / f"{prefix}_vocab.json").read_text("utf-8"))
    return {term: row for row, term in enumerate(terms)}


def _load_legacy(folder: Path) -> BM25Index:
    """An index saved as ``bm25.npz`` with term frequencies (private arrays, impacts computed)."""
    with np.load(folder / LEGACY_ARRAYS) as arrays:
        offsets, doc_ids, doc_lengths = arrays["offsets"], arrays["doc_ids"], arrays["doc_lengths"]
        impacts = posting_impacts(arrays["term_freqs"], doc_ids, doc_lengths)
    return BM25Index(_read_vocabulary(folder), offsets, doc_ids, impacts, doc_lengths)
