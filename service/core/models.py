"""Frozen dataclasses used inside the service (Pydantic lives only at the HTTP edge)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str  # cleaned text; passage offsets point into it
    source: str = ""
    date: str = ""
    tags: tuple[str, ...] = ()
    path: str = ""  # relative to the corpus folder
    sha256: str = ""  # of the original bytes (or of the JSONL line)
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Passage:
    id: str
    document_id: str
    title: str
    heading: str
    ordinal: int
    start: int
    end: int
    text: str
    source: str = ""
    date: str = ""


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    dense_score: float
    bm25_score: float


@dataclass(frozen=True)
class Citation:
    marker: int
    hit: Hit
    quote: str  # the cited sentence(s), verbatim from the passage
    quote_start: int  # offsets of the quote in the cleaned document
    quote_end: int


@dataclass(frozen=True)
class Answer:
    text: str
    found: bool
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...] = ()
    mode: str = "extractive"  # "generative": written by an LLM, every sentence verified
    dropped: int = 0  # generated sentences that failed verification
    fallback_reason: str | None = None  # why an LLM answer was not used
    standalone_question: str | None = None  # a follow-up rewritten with the conversation


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation, as the client sends it back."""

    question: str
    answer: str = ""
