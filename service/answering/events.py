"""What a streamed answer sends: the passages, then verified sentences, then the answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from service.core.models import Answer, Citation, Hit

PART = re.compile(r".*?(?:\[\d+\])+\n?|.+$", re.S)
MARKER_NUMBER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class CitationsEvent:
    hits: tuple[Hit, ...]  # the passages retrieved (and, for a written answer, sent)


@dataclass(frozen=True)
class SentenceEvent:
    text: str  # one sentence, ending with its markers
    citations: tuple[Citation, ...]  # what its markers point to


@dataclass(frozen=True)
class DoneEvent:
    answer: Answer


Event = CitationsEvent | SentenceEvent | DoneEvent


def answer_events(answer: Answer) -> Iterator[Event]:
    """A finished answer as a stream: its passages, each sentence at once, then itself."""
    yield CitationsEvent(answer.hits)
    yield from sentence_events(answer)
    yield DoneEvent(answer)


def sentence_events(answer: Answer) -> Iterator[SentenceEvent]:
    for match in PART.finditer(answer.text):
        part = match.group(0)
        if not part.strip():
            continue
        markers = {int(n) for n in MARKER_NUMBER.findall(part)}
        yield SentenceEvent(part, tuple(c for c in answer.citations if c.marker in markers))


def final_answer(events: Iterator[Event]) -> Answer:
    """The answer a stream ends with (what a non-streamed call returns)."""
    answer = None
    for event in events:
        if isinstance(event, DoneEvent):
            answer = event.answer
    if answer is None:
        raise RuntimeError("the answer stream ended without an answer")
    return answer
