"""Precision of the policy facts read from text, on notices labelled by hand.

A labels file holds one JSON object a line: ``id`` (of a passage in the passages file),
``agency``, ``doc_number``, ``issued``, ``effective``, ``expires`` ("" where the notice does
not state it) and optionally ``part`` (e.g. ``tune`` / ``test``). Only ids and labels are
stored; the texts come from the passages file. A value read where the label is "" counts
against precision: no value is better than a wrong one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.core.errors import BadRequest
from service.ingest.cleaning import clean_text
from service.ingest.policy_facts import PolicyFacts, read_facts

FIELDS = ("agency", "doc_number", "issued", "effective", "expires")


@dataclass(frozen=True)
class FieldScore:
    field: str
    read: int  # values the extractor gave
    correct: int  # of those, equal to the label
    labelled: int  # notices whose label has a value

    @property
    def precision(self) -> float:
        return self.correct / self.read if self.read else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.labelled if self.labelled else 1.0

    def row(self) -> str:
        return (f"{self.field:<11} {self.precision:>9.3f} {self.recall:>7.3f} {self.read:>5} "
                f"{self.correct:>7} {self.labelled:>8}")


HEADER = f"{'field':<11} {'precision':>9} {'recall':>7} {'read':>5} {'correct':>7} {'labelled':>8}"


def load_labels(path: Path, part: str | None = None) -> list[dict[str, Any]]:
    labels = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [label for label in labels if part is None or label.get("part") == part]


def score_facts(passages: dict[str, dict[str, Any]],
                labels: list[dict[str, Any]]) -> tuple[list[FieldScore], list[str]]:
    """Per-field scores and one line per disagreement (id, field, read, label)."""
    missing = [label["id"] for label in labels if label["id"] not in passages]
    if missing:
        raise BadRequest(f"{len(missing)} labelled ids are not in the passages file, e.g. "
                         f"{missing[0]!r}; pass the passages the labels were made on")
    read = {label["id"]: _read(passages[label["id"]]) for label in labels}
    scores, misses = [], []
    for field in FIELDS:
        given = correct = labelled = 0
        for label in labels:
            value, truth = _norm(getattr(read[label["id"]], field)), _norm(label.get(field, ""))
            labelled += bool(truth)
            given += bool(value)
            correct += bool(value) and value == truth
            if value != truth:
                misses.append(f"{label['id'][:8]} {field}: read {value or '-'!r}, "
                              f"label {truth or '-'!r}")
        scores.append(FieldScore(field, given, correct, labelled))
    return scores, misses


def _read(passage: dict[str, Any]) -> PolicyFacts:
    return read_facts(passage.get("title", ""), clean_text(passage.get("text", "")))


def _norm(value: str) -> str:
    return re.sub(r"\s+", "", value)
