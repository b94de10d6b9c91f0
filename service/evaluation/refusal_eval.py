"""Refusal quality on a dev set of answerable and unanswerable questions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.answering.extractive import ExtractiveAnswerer


@dataclass(frozen=True)
class RefusalScores:
    threshold: float
    precision: float  # of refusals, the share that were right to refuse
    recall: float  # of unanswerable questions, the share refused
    false_refusal: float  # of answerable questions, the share refused
    answerable: int
    unanswerable: int

    def row(self) -> str:
        return (f"{self.threshold:>9.2f} {self.precision:>9.3f} {self.recall:>7.3f} "
                f"{self.false_refusal:>13.3f}")


HEADER = f"{'threshold':>9} {'precision':>9} {'recall':>7} {'false_refusal':>13}"


def score_refusal(answerer: ExtractiveAnswerer, questions: list[dict[str, Any]],
                  threshold: float) -> RefusalScores:
    answerer.policy.threshold = threshold
    refused = [(not answerer.answer(q["question"]).found, bool(q["answerable"])) for q in questions]
    true_refusals = sum(1 for r, a in refused if r and not a)
    refusals = sum(1 for r, _ in refused if r)
    unanswerable = sum(1 for _, a in refused if not a)
    answerable = len(refused) - unanswerable
    false_refusals = sum(1 for r, a in refused if r and a)
    return RefusalScores(
        threshold,
        precision=true_refusals / refusals if refusals else 1.0,
        recall=true_refusals / unanswerable if unanswerable else 1.0,
        false_refusal=false_refusals / answerable if answerable else 0.0,
        answerable=answerable, unanswerable=unanswerable,
    )
