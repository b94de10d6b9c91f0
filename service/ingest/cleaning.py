"""Repair what PDF extraction does to Chinese text, without changing any word.

Lines broken mid-sentence are joined, spaces inside numbers (``1331 . 4``) and
between Chinese characters go, and short stand-alone lines stay headings.
The only edits are to whitespace: removing all whitespace from the input and
from the output gives the same string.
"""

from __future__ import annotations

import re

from service.ingest.sentences import CLOSERS

PARAGRAPH_END = "。！？…!?"
HEADING_MAX_CHARS = 40

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_CJK_PUNCT = r"\u3000-\u303f\uff00-\uffef“”‘’—…·《》「」"
_SPACE = r"[ \t\u00a0\u3000]+"

_SPACE_RULES = (
    (re.compile(rf"(?<=\d){_SPACE}?\.{_SPACE}?(?=\d)"), "."),  # 1331 . 4 -> 1331.4
    (re.compile(rf"(?<=\d){_SPACE}(?=\d)"), ""),  # 1 000 -> 1000
    (re.compile(rf"(?<=[{_CJK}{_CJK_PUNCT}]){_SPACE}(?=[{_CJK}{_CJK_PUNCT}\d])"), ""),
    (re.compile(rf"(?<=[\d%]){_SPACE}(?=[{_CJK}{_CJK_PUNCT}])"), ""),  # 3850 亿 -> 3850亿
    (re.compile(rf"(?<=[{_CJK}{_CJK_PUNCT}]){_SPACE}(?=[A-Za-z])"), ""),
    (re.compile(rf"(?<=[A-Za-z]){_SPACE}(?=[{_CJK}{_CJK_PUNCT}])"), ""),
)


def clean_text(raw: str) -> str:
    """Return ``raw`` with paragraphs re-flowed and stray spaces removed."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    paragraphs = _reflow(text.split("\n"))
    return "\n\n".join(_squeeze_spaces(p) for p in paragraphs if p.strip())


def is_heading(line: str) -> bool:
    """A short line with no sentence punctuation at its end, e.g. a section title."""
    stripped = line.strip()
    if not stripped or len(stripped) > HEADING_MAX_CHARS:
        return False
    return not _ends_clause(stripped) and stripped[-1] not in "，、：:,；;"


def _squeeze_spaces(paragraph: str) -> str:
    text = paragraph.strip()
    for pattern, replacement in _SPACE_RULES:
        text = pattern.sub(replacement, text)
    return text


def _ends_clause(text: str) -> bool:
    stripped = text.rstrip().rstrip(CLOSERS)
    return bool(stripped) and stripped[-1] in PARAGRAPH_END


def _reflow(lines: list[str]) -> list[str]:
    """Group raw lines into paragraphs (headings are paragraphs of their own)."""
    paragraphs: list[str] = []
    current = ""
    current_indented = False
    blank_before = True
    for line in lines:
        if not line.strip():
            blank_before = True
            continue
        heading_like = not current_indented and is_heading(current)
        if current and _starts_new_paragraph(current, heading_like, line, blank_before):
            paragraphs.append(current)
            current = ""
        if not current:
            current_indented = _indented(line)
        current += line.strip()
        blank_before = False
    if current:
        paragraphs.append(current)
    return paragraphs


def _starts_new_paragraph(current: str, heading_like: bool, line: str, blank_before: bool) -> bool:
    """PDF text breaks lines anywhere; a paragraph ends only after a full stop or a heading."""
    if _ends_clause(current) or heading_like and blank_before:
        return blank_before or _indented(line) or is_heading(line)
    return False


def _indented(line: str) -> bool:
    return line[:1] in (" ", "\t", "\u3000")
