"""Follow-up retrieval: does a question that leans on the previous turn find its passage?

Each conversation has earlier turns (``history``), a follow-up ``question`` and its gold
passage (``gold_document_ids`` + ``must_contain``, as the seed questions). The follow-up is
searched three ways: alone, with the previous question simply put in front of it, and
rewritten into a standalone question by ``FollowupRewriter``. Conversations of kind
``new_topic`` change the subject: there the question alone is right, and a rule that
always leans on the previous turn would be caught.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.answering.followup import FollowupRewriter
from service.answering.retrieval import Retriever
from service.core.models import Turn
from service.evaluation.retrieval_eval import first_relevant_rank, gold_matcher

DEPTH = 10


@dataclass(frozen=True)
class FollowupScores:
    kind: str  # follow_up (leans on the previous turn) or new_topic (stands alone)
    variant: str
    conversations: int
    hit1: float
    hit5: float

    def row(self) -> str:
        return (f"{self.kind:<10} {self.variant:<24} {self.conversations:>5} {self.hit1:>7.3f} "
                f"{self.hit5:>7.3f}")


HEADER = f"{'kind':<10} {'second question as':<24} {'n':>5} {'hit@1':>7} {'hit@5':>7}"


def history_of(record: dict[str, Any]) -> list[Turn]:
    return [Turn(str(t["question"]), str(t.get("answer", ""))) for t in record["history"]]


def variants(rewriter: FollowupRewriter) -> dict[str, Callable[[dict[str, Any]], str]]:
    return {
        "question alone": lambda r: str(r["question"]),
        "previous + question": lambda r: f"{r['history'][-1]['question']} {r['question']}",
        "rewritten with history": lambda r: rewriter.rewrite(str(r["question"]), history_of(r)),
    }


def score_followups(retriever: Retriever, records: list[dict[str, Any]],
                    rewriter: FollowupRewriter) -> list[FollowupScores]:
    """Per kind of conversation (``kind``: follow_up or new_topic), per way of searching."""
    scores = []
    kinds = sorted({str(r.get("kind", "follow_up")) for r in records})
    for kind in kinds:
        subset = [r for r in records if str(r.get("kind", "follow_up")) == kind]
        for name, query_of in variants(rewriter).items():
            ranks = [first_relevant_rank(retriever.search(query_of(r), top_k=DEPTH),
                                         gold_matcher(r), by_document=False) for r in subset]
            n = max(len(ranks), 1)
            scores.append(FollowupScores(kind, name, len(ranks),
                                         sum(1 for k in ranks if k == 1) / n,
                                         sum(1 for k in ranks if 0 < k <= 5) / n))
    return scores
