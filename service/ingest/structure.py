"""Numbered clauses of a policy notice (一、 （一） 1. （1） 第X条 第X章), found inline.

Real notices are often one long paragraph once extracted (the numbering survives, the
line breaks do not), so clauses are found by their markers: a marker counts only at the
start of the text, of a line or of a sentence (after 。；：！？ or a space), or, for
``1.`` style markers, right after an unpunctuated heading; and only when it continues
its own numbering (一 then 二, 1 then 2), which keeps 一、二级市场 or 1.5万 from
counting. The kinds nest in the order they first appear, as in the notice itself.
The heading path of a passage (e.g. 二、支持企业复工复产 > （三）减轻企业负担) is
embedded and indexed with it, never quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CN = "零一二三四五六七八九十百"
_MARKER = re.compile(
    rf"第(?P<chapter>[{_CN}]+)章|第(?P<article>[{_CN}]+)条"
    rf"|(?P<cn>[{_CN}]+)、|[（(](?P<cnp>[{_CN}]+)[)）]"
    r"|(?P<num>\d{1,2})[.．、](?!\d)|[（(](?P<nump>\d{1,2})[)）]"
)
_AFTER = "\n。；;：:！？!? \u3000”"
HEADING_ENDS = "。；;：:！？!?"
HEADING_MAX = 30
STRUCTURE_VERSION = 1  # in the index manifest: passages of another version are re-chunked


@dataclass(frozen=True)
class Clause:
    start: int  # offset of the marker
    depth: int  # 0 = outermost kind in this text
    label: str  # the clause's heading: marker up to its first stop, at most HEADING_MAX


def _cn_value(numeral: str) -> int:
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")}
    if numeral == "十":
        return 10
    if "十" in numeral:
        tens, _, ones = numeral.partition("十")
        return digits.get(tens, 1) * 10 + digits.get(ones, 0) if tens or ones else 10
    if len(numeral) == 1 and numeral in digits:
        return digits[numeral]
    return -1


def clauses(text: str) -> list[Clause]:
    """The numbered clauses of ``text`` in order, with their nesting depth."""
    found: list[tuple[int, str, int]] = []  # (start, kind, number)
    last: dict[str, int] = {}
    for match in _MARKER.finditer(text):
        kind = match.lastgroup or ""
        value = match.group(kind)
        number = int(value) if kind in ("num", "nump") else _cn_value(value)
        explicit = kind in ("chapter", "article")  # 第X条 may quote any article
        if number <= 0 or not (explicit or number in (1, last.get(kind, 0) + 1)):
            continue
        start = match.start()
        before = text[start - 1] if start else "\n"
        if before not in _AFTER and not (kind != "cn" and _after_heading(text, start, found)):
            continue
        last[kind] = number
        found.append((start, kind, number))
    order: list[str] = []
    out: list[Clause] = []
    for i, (start, kind, _number) in enumerate(found):
        if kind in order:
            del order[order.index(kind) + 1 :]
        else:
            order.append(kind)
        limit = found[i + 1][0] if i + 1 < len(found) else len(text)
        out.append(Clause(start, len(order) - 1, _label(text, start, limit)))
    return out


def _after_heading(text: str, start: int, found: list[tuple[int, str, int]]) -> bool:
    """A clause straight after a heading without a stop (一、总体要求1.…… or （一）)."""
    if not found:
        return False
    previous = found[-1][0]
    return 0 < start - previous <= HEADING_MAX and not any(
        c in HEADING_ENDS for c in text[previous:start])


def _label(text: str, start: int, limit: int) -> str:
    end = min(limit, start + HEADING_MAX)
    for i in range(start, end):
        if text[i] in HEADING_ENDS or text[i] == "\n":
            end = i
            break
    return text[start:end].strip()


def heading_path(marks: list[Clause], start: int, end: int) -> list[str]:
    """Headings of the clauses that enclose ``start`` and begin before it (outermost first):
    what a reader of ``text[start:end]`` needs to know about where it stands."""
    path: list[Clause] = []
    for clause in marks:
        if clause.start > start:
            break
        while path and path[-1].depth >= clause.depth:
            path.pop()
        path.append(clause)
    return [c.label for c in path if c.start < start]
