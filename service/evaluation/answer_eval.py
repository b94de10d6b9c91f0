"""Answer quality on questions with annotated answers, and refusal with the gold removed.

For each question the extractive answerer is asked once with the full corpus and once
with the gold documents (``gold_passage_ids`` + ``alt_gold_passage_ids``) hidden from
retrieval. Reported: answered share; of all questions, the share whose cited passages
contain an annotated answer and the share whose quoted span contains it; mean
character-bigram recall of the best annotated answer in the answer text; refusals with
the gold hidden (want high) and with it present (want low), over a threshold grid.
Whitespace is ignored in every comparison.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.answering.extractive import ExtractiveAnswerer, Retrieved
from service.answering.retrieval import Retriever
from service.answering.status_filter import in_force
from service.core.models import Answer, Passage

HEADER = (f"{'threshold':>9} {'answered':>8} {'cited_has':>9} {'quote_has':>9} "
          f"{'bigram_rec':>10} {'refused_gold_out':>16} {'refused_gold_in':>15}")


@dataclass(frozen=True)
class AnswerScores:
    threshold: float
    questions: int
    answered: float
    cited_contains: float
    quote_contains: float
    bigram_recall: float
    refused_without_gold: float
    refused_with_gold: float

    def row(self) -> str:
        return (f"{self.threshold:>9.2f} {self.answered:>8.3f} {self.cited_contains:>9.3f} "
                f"{self.quote_contains:>9.3f} {self.bigram_recall:>10.3f} "
                f"{self.refused_without_gold:>16.3f} {self.refused_with_gold:>15.3f}")


class _HiddenRows:
    """The allowed passage rows of an index with ``hidden`` documents left out."""

    def __init__(self, passages: list[Passage], hidden: set[str]) -> None:
        self._allowed = np.fromiter((p.document_id not in hidden for p in passages),
                                    dtype=bool, count=len(passages))

    def allowed_rows(self) -> np.ndarray:
        return self._allowed


def without_documents(retriever: Retriever, hidden: set[str]) -> Retriever:
    """``retriever`` over a corpus without the ``hidden`` documents: they are left out
    before fusion, as if never indexed, so the others' normalised scores are what they
    would be in such a corpus."""
    view = copy.copy(retriever)
    rows = _HiddenRows(retriever.index.passages, hidden)
    view.index = in_force(retriever.index, rows)  # type: ignore[arg-type]
    return view


def _squash(text: str) -> str:
    return "".join(text.split())


def _bigram_recall(answer: str, produced: str) -> float:
    grams = {answer[i : i + 2] for i in range(len(answer) - 1)}
    if not grams:
        return float(answer in produced)
    return sum(1 for g in grams if g in produced) / len(grams)


def _judge(answer: Answer, golds: list[str]) -> tuple[bool, bool, float]:
    cited = [_squash(c.hit.passage.text) for c in answer.citations]
    quoted = _squash("".join(c.quote for c in answer.citations))
    produced = _squash(answer.text)
    cited_has = any(g in text for g in golds for text in cited)
    quote_has = any(g in quoted for g in golds)
    recall = max((_bigram_recall(g, produced) for g in golds), default=0.0)
    return cited_has, quote_has, recall


def score_answers(answerer: ExtractiveAnswerer, questions: list[dict[str, Any]],
                  thresholds: list[float]) -> list[AnswerScores]:
    """Every question asked twice (gold present, gold hidden) with no threshold; each
    threshold of the grid then refuses the answers whose evidence falls below it."""
    retriever, threshold = answerer.retriever, answerer.policy.threshold
    answerer.policy.threshold = float("-inf")
    present, hidden_out = [], []
    try:
        for question in questions:
            golds = [_squash(a) for a in question.get("answers", []) if _squash(a)]
            answerer.retriever = retriever
            got = answerer.retrieve(question["question"])
            present.append((_possible(got), got.evidence, *_judge(got.answer, golds)))
            hidden = set(question.get("gold_passage_ids", [])) | set(
                question.get("alt_gold_passage_ids", []))
            answerer.retriever = without_documents(retriever, hidden)
            out = answerer.retrieve(question["question"])
            hidden_out.append((_possible(out), out.evidence))
    finally:
        answerer.retriever, answerer.policy.threshold = retriever, threshold
    return [_scores_at(t, present, hidden_out) for t in thresholds]


def _possible(got: Retrieved) -> bool:
    return got.answer.found or (got.answerable and got.evidence != float("-inf"))


def _scores_at(threshold: float, present: list[tuple[Any, ...]],
               hidden_out: list[tuple[bool, float]]) -> AnswerScores:
    n = max(len(present), 1)
    found = [ok and evidence >= threshold for ok, evidence, *_ in present]
    return AnswerScores(
        threshold, len(present),
        answered=sum(found) / n,
        cited_contains=sum(f and p[2] for f, p in zip(found, present, strict=True)) / n,
        quote_contains=sum(f and p[3] for f, p in zip(found, present, strict=True)) / n,
        bigram_recall=sum(p[4] if f else 0.0 for f, p in zip(found, present, strict=True)) / n,
        refused_without_gold=sum(not (ok and e >= threshold) for ok, e in hidden_out) / n,
        refused_with_gold=1 - sum(found) / n,
    )
