"""Cut cleaned documents into passages of whole sentences, with offsets."""

from __future__ import annotations

from dataclasses import dataclass

from service.core.models import Document, Passage
from service.ingest.cleaning import is_heading
from service.ingest.sentences import sentence_spans
from service.ingest.structure import clauses, heading_path

SOFT_BREAKS = "，、：,:"


@dataclass(frozen=True)
class ChunkingParams:
    size: int = 320
    overlap: int = 40
    structure: bool = False  # numbered clauses (一、 （一） 1.) add their heading path

    def __post_init__(self) -> None:
        if self.size <= self.overlap:
            raise ValueError(f"chunk size must be > overlap, got {self.size} <= {self.overlap}")


def chunk_document(document: Document, params: ChunkingParams) -> list[Passage]:
    """Passages of about ``params.size`` chars that never cross a heading. A passage's
    ``heading`` is its section heading followed by the headings of the numbered clauses
    it stands in (``一、… > （二）…``): embedded and indexed with it, never quoted."""
    passages: list[Passage] = []
    marks = clauses(document.text) if params.structure else []
    for heading, start, end in _sections(document.text):
        spans = _bounded_spans(document.text, start, end, params.size)
        for first, last in _pack(spans, params):
            path = " > ".join(filter(None, [heading, *heading_path(marks, first, last)]))
            passages.append(_passage(document, path, len(passages), first, last))
    return passages


def _sections(text: str) -> list[tuple[str, int, int]]:
    """(heading, start, end) of each run of paragraphs under one heading."""
    sections: list[tuple[str, int, int]] = []
    heading, body_start, offset = "", None, 0
    headings: list[str] = []
    for paragraph in text.split("\n\n"):
        p_start, offset = offset, offset + len(paragraph) + 2
        if is_heading(paragraph):
            if body_start is not None:
                sections.append((heading, body_start, p_start - 2))
                body_start, headings = None, []
            headings.append(paragraph.strip())
            heading = " ".join(headings)
        elif body_start is None:
            body_start, headings = p_start, []
    if body_start is not None:
        sections.append((heading, body_start, len(text)))
    return sections


def _bounded_spans(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Sentence spans, with over-long sentences cut at commas (or hard) to fit ``size``."""
    spans: list[tuple[int, int]] = []
    for s_start, s_end in sentence_spans(text, start, end):
        while s_end - s_start > size:
            cut = _soft_cut(text, s_start, s_start + size)
            spans.append((s_start, cut))
            s_start = cut
        spans.append((s_start, s_end))
    return spans


def _soft_cut(text: str, start: int, limit: int) -> int:
    for i in range(limit - 1, start + (limit - start) // 2, -1):
        if text[i] in SOFT_BREAKS:
            return i + 1
    cut = limit
    while cut > start + 1 and _inside_number(text, cut):
        cut -= 1
    return cut


def _inside_number(text: str, cut: int) -> bool:
    """True when cutting at ``cut`` would split a number such as 1331.4."""
    return (text[cut - 1].isdigit() or text[cut - 1] == ".") and text[cut].isdigit()


def _pack(spans: list[tuple[int, int]], params: ChunkingParams) -> list[tuple[int, int]]:
    """Group consecutive sentence spans into (start, end) windows with overlap."""
    windows: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - spans[i][0] <= params.size:
            j += 1
        windows.append((spans[i][0], spans[j][1]))
        if j + 1 >= len(spans):
            break
        i = _overlap_start(spans, i, j, params.overlap)
    return windows


def _overlap_start(spans: list[tuple[int, int]], i: int, j: int, overlap: int) -> int:
    """First sentence of the next window: repeat trailing sentences that fit in ``overlap``."""
    k = j + 1
    while k - 1 > i and spans[j][1] - spans[k - 1][0] <= overlap:
        k -= 1
    return k


def _passage(document: Document, heading: str, ordinal: int, start: int, end: int) -> Passage:
    return Passage(
        id=f"{document.id}#{ordinal}", document_id=document.id, title=document.title,
        heading=heading, ordinal=ordinal, start=start, end=end,
        text=document.text[start:end], source=document.source, date=document.date,
    )
