"""Excerpts: a run of whole clauses cut from a sentence, and how a cut piece is shown.

One set of rules for every quote policybot shows (answers, policy lists, match summaries):
a long sentence is trimmed to the run of whole clauses (split after ，；：,;) that scores
best within a length limit, longest on ties, never cutting inside a clause and without a
trailing clause mark; a quote that does not end a sentence is shown with "…" so it reads as
an excerpt, not as a changed sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.ingest.sentences import CLOSERS, SENTENCE_END

CLAUSE_BREAKS = "，；：,;"
ENDINGS = SENTENCE_END + CLOSERS  # a quote ending in one of these reads as whole


def best_clauses(text: str, start: int, end: int, score: Callable[[str], Any],
                 limit: int) -> tuple[int, int]:
    """The span of ``text[start:end]`` made of whole clauses that ``score`` ranks highest.

    Spans up to ``limit`` characters compete; a single clause longer than ``limit`` is kept
    whole rather than cut mid-clause. Ties go to the longer span, then the earlier one. A
    sentence within the limit comes back unchanged.
    """
    if end - start <= limit:
        return start, end
    cuts = [start] + [i + 1 for i in range(start, end - 1) if text[i] in CLAUSE_BREAKS] + [end]
    best: tuple[tuple[Any, int], tuple[int, int]] | None = None
    for i, a in enumerate(cuts[:-1]):
        for b in cuts[i + 1:]:
            if b - a > limit and b != cuts[i + 1]:
                break
            key = (score(text[a:b]), b - a)
            if best is None or key > best[0]:
                best = (key, (a, b))
    a, b = best[1] if best else (start, end)
    return a, b - 1 if b - 1 > a and text[b - 1] in CLAUSE_BREAKS else b


def as_excerpt(quote: str) -> str:
    """``quote`` as shown: unchanged when it ends a sentence, else followed by "…"."""
    return quote if not quote or quote[-1] in ENDINGS else quote + "…"
