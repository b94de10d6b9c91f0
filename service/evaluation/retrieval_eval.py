"""Retrieval metrics (hit@k, MRR@10) and refusal precision/recall on question sets."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.answering.retrieval import MODES, Mode, Retriever
from service.core.errors import ServiceError
from service.core.hashing import sha256_hex
from service.core.models import Hit
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.embedding.query_vectors import QueryVectors
from service.index.build import reindex
from service.index.tokenizer import word_list_version
from service.index.vector_store import current_version, load_current, uses_milvus
from service.ingest.structure import STRUCTURE_VERSION

CUTOFFS = (1, 5, 10)
# Every question of a set is asked once per mode: keep all their vectors, not the server's LRU.
EVAL_QUERY_CACHE = 100_000


@dataclass(frozen=True)
class RetrievalScores:
    mode: str
    questions: int
    hits: dict[int, float]
    mrr10: float

    def row(self) -> str:
        cells = " ".join(f"{self.hits[k]:>7.3f}" for k in CUTOFFS)
        return f"{self.mode:<8} {self.questions:>5} {cells} {self.mrr10:>7.3f}"


HEADER = (f"{'mode':<8} {'n':>5} " + " ".join(f"{'hit@' + str(k):>7}" for k in CUTOFFS)
          + f" {'MRR@10':>7}")


def read_jsonl(path: Path, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The records of a JSONL file; a missing file, a bad line or a record without a
    ``required`` field is a ``ServiceError`` naming the file, the line and the fix."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ServiceError(f"cannot read {str(path)!r} ({exc}); give a UTF-8 JSONL file") from exc
    records = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            records.append(_record(path, number, line, required))
    return records


def _record(path: Path, number: int, line: str, required: tuple[str, ...]) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ServiceError(
            f"{path}:{number}: not JSON ({exc.msg}); one JSON object per line") from exc
    missing = [name for name in required if not isinstance(record, dict) or name not in record]
    if missing:
        raise ServiceError(f"{path}:{number}: missing {', '.join(map(repr, missing))}; "
                           f"every line needs {', '.join(map(repr, required))}")
    return record  # type: ignore[no-any-return]


def eval_index(settings: Settings, embedder: Embedder, passages_file: Path) -> Retriever:
    """A cached index of ``passages_file`` under data_dir/eval (built once per content)."""
    digest = sha256_hex(passages_file.read_bytes())[:16]
    key = f"{digest}-{settings.chunk_size}-{settings.chunk_overlap}"
    if settings.chunk_structure:
        key += f"-s{STRUCTURE_VERSION}"
    key += f"-w{word_list_version()[:6]}"  # its keyword channel was cut with this word list
    root = settings.data_dir / "eval" / key
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    link = corpus / "passages.jsonl"
    if not link.exists():
        link.symlink_to(passages_file.resolve())
    update: dict[str, object] = {"corpus_dir": corpus, "index_dir": root / "index"}
    if uses_milvus(settings):  # the eval index is its own alias in the same Milvus
        update["milvus_collection"] = f"{settings.milvus_collection}_eval_" + key.replace("-", "_")
    eval_settings = settings.model_copy(update=update)
    if current_version(eval_settings) is None:
        reindex(eval_settings, embedder, wait=True)
    return eval_retriever(eval_settings, embedder, None)


def eval_retriever(settings: Settings, embedder: Embedder, passages_file: Path | None) -> Retriever:
    """A retriever over ``passages_file`` (indexed once, cached), else over the CURRENT index."""
    if passages_file is not None:
        return eval_index(settings, embedder, passages_file)
    index = load_current(settings, embedder.name)
    return Retriever(index, QueryVectors(embedder, EVAL_QUERY_CACHE), settings)


def gold_matcher(question: dict[str, Any]) -> Callable[[Hit], bool]:
    """Relevant passages: a gold document (or gold passage id), containing ``must_contain``."""
    gold_docs = set(question.get("gold_document_ids") or question.get("gold_passage_ids") or ())
    phrase = "".join(str(question.get("must_contain", "")).split())

    def relevant(hit: Hit) -> bool:
        in_doc = hit.passage.document_id in gold_docs
        return in_doc and (not phrase or phrase in "".join(hit.passage.text.split()))

    return relevant


def first_relevant_rank(hits: list[Hit], relevant: Callable[[Hit], bool], by_document: bool) -> int:
    """1-based rank of the first relevant result (0 if none); documents ranked once each."""
    seen: set[str] = set()
    rank = 0
    for hit in hits:
        if by_document:
            if hit.passage.document_id in seen:
                continue
            seen.add(hit.passage.document_id)
        rank += 1
        if relevant(hit):
            return rank
    return 0


def score_retrieval(retriever: Retriever, questions: list[dict[str, Any]], mode: Mode,
                    depth: int = 30) -> RetrievalScores:
    ranks = []
    for question in questions:
        hits = retriever.search(question["question"], top_k=depth, mode=mode)
        by_document = "must_contain" not in question
        ranks.append(first_relevant_rank(hits, gold_matcher(question), by_document))
    n = max(len(ranks), 1)
    hits_at = {k: sum(1 for r in ranks if 0 < r <= k) / n for k in CUTOFFS}
    mrr = sum(1 / r for r in ranks if 0 < r <= 10) / n
    return RetrievalScores(mode, len(ranks), hits_at, mrr)


def modes_for(choice: str) -> tuple[Mode, ...]:
    return MODES if choice == "all" else (choice,)  # type: ignore[return-value]
