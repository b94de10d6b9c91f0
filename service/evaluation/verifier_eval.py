"""Verifier quality on labelled sentences: precision and recall of the sentences it keeps.

Each line of the labelled set holds the passages sent (numbered from 1), one written
sentence, its ``label`` (supported, changed_number, changed_name, invented_condition,
wrong_marker, …) and whether the passages support it (``supported``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.answering.verification import SentenceVerifier
from service.core.models import Passage

GRID = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 1.0)


@dataclass(frozen=True)
class VerifierScores:
    coverage: float
    kept: int
    precision: float  # of kept sentences, the share that are supported
    recall: float  # of supported sentences, the share kept
    unsupported_kept: int
    kept_by_label: dict[str, str]  # label -> "kept/total"

    def row(self) -> str:
        return (f"{self.coverage:>8.2f} {self.kept:>5} {self.precision:>9.3f} {self.recall:>7.3f} "
                f"{self.unsupported_kept:>16}")


HEADER = f"{'coverage':>8} {'kept':>5} {'precision':>9} {'recall':>7} {'unsupported_kept':>16}"


def labelled_passages(record: dict[str, Any]) -> list[Passage]:
    return [Passage(id=str(p.get("id", i)), document_id=str(p.get("id", i)).split("#")[0],
                    title=p.get("title", ""), heading="", ordinal=i, start=0,
                    end=len(p["text"]), text=p["text"], date=p.get("date", ""))
            for i, p in enumerate(record["passages"])]


def score_verifier(records: list[dict[str, Any]], coverage: float) -> VerifierScores:
    verifier = SentenceVerifier(coverage)
    kept_flags = [(verifier.check(r["sentence"], labelled_passages(r)).kept, bool(r["supported"]),
                   str(r.get("label", ""))) for r in records]
    kept = sum(1 for k, _, _ in kept_flags if k)
    good = sum(1 for k, s, _ in kept_flags if k and s)
    supported = sum(1 for _, s, _ in kept_flags if s)
    by_label: dict[str, list[int]] = {}
    for k, _, label in kept_flags:
        counts = by_label.setdefault(label, [0, 0])
        counts[0] += int(k)
        counts[1] += 1
    return VerifierScores(coverage, kept, good / kept if kept else 1.0,
                          good / supported if supported else 1.0, kept - good,
                          {label: f"{a}/{b}" for label, (a, b) in sorted(by_label.items())})


def failures(records: list[dict[str, Any]], coverage: float) -> list[tuple[str, str]]:
    """(id, why) of every record the verifier gets wrong at ``coverage``."""
    verifier = SentenceVerifier(coverage)
    wrong = []
    for record in records:
        verdict = verifier.check(record["sentence"], labelled_passages(record))
        if verdict.kept != bool(record["supported"]):
            wrong.append((str(record.get("id")), verdict.reason or
                          f"kept (coverage {verdict.coverage:.2f})"))
    return wrong
