"""Matching quality on profiles with phrases that must (not) be among the matched passages.

recall: share of ``must_include`` phrases found in some matched passage;
exclusion: share of ``must_exclude`` phrases found in none (a precision proxy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.matching.matcher import PolicyMatcher, build_profile

HEADER = f"{'profiles':>8} {'recall':>7} {'exclusion':>9} {'mean matches':>12}"


@dataclass(frozen=True)
class MatchScores:
    profiles: int
    recall: float
    exclusion: float
    mean_matches: float
    misses: tuple[str, ...]  # "profile n: phrase" not found among the matches
    leaks: tuple[str, ...]  # "profile n: phrase" found although it must not be

    def row(self) -> str:
        return (f"{self.profiles:>8} {self.recall:>7.3f} {self.exclusion:>9.3f} "
                f"{self.mean_matches:>12.1f}")


def score_matching(matcher: PolicyMatcher, cases: list[dict[str, Any]]) -> MatchScores:
    found_included: list[bool] = []
    avoided_excluded: list[bool] = []
    counts: list[int] = []
    misses: list[str] = []
    leaks: list[str] = []
    for number, case in enumerate(cases, start=1):
        values = case["profile"]
        profile = build_profile(matcher.taxonomy, values.get("industries", ()),
                                values.get("qualifications", ()), values.get("needs", ()),
                                bool(values.get("foreign_staff")), values.get("text"))
        matches = matcher.match(profile)
        counts.append(len(matches))
        texts = [_squeeze(m.card.passage.text) for m in matches]
        for phrase in case.get("must_include", ()):
            found = any(_squeeze(phrase) in text for text in texts)
            found_included.append(found)
            misses.extend([] if found else [f"profile {number}: {phrase}"])
        for phrase in case.get("must_exclude", ()):
            leaked = any(_squeeze(phrase) in text for text in texts)
            avoided_excluded.append(not leaked)
            leaks.extend([f"profile {number}: {phrase}"] if leaked else [])
    return MatchScores(len(cases), _share(found_included), _share(avoided_excluded),
                       sum(counts) / max(len(counts), 1), tuple(misses), tuple(leaks))


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 1.0


def _squeeze(text: str) -> str:
    """Whitespace removed: a PDF line break inside a phrase still counts."""
    return "".join(text.split())
