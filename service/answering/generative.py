"""Written answers: an LLM composes them from the retrieved passages; policybot verifies
every sentence before it is shown, and falls back to the extractive answer.

Order of work for a question: retrieval and the extractive answerer's refusal policy
first (a question the texts cannot answer never reaches the LLM); then the numbered
passages go to the LLM as data; each sentence of the streamed reply is checked by
``SentenceVerifier`` as soon as it is complete and, if kept, renumbered (markers count
from 1 in order of first use, as in extractive answers) and given a quote per citation.
Any LLM failure, a "not in the texts" reply, or no sentence kept gives the extractive
answer with ``fallback_reason``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from service.answering.events import (
    CitationsEvent,
    DoneEvent,
    Event,
    SentenceEvent,
    sentence_events,
)
from service.answering.extractive import ExtractiveAnswerer
from service.answering.llm_client import ChatClient, LLMError
from service.answering.prompts import NO_ANSWER, answer_messages
from service.answering.sentence_stream import SentenceStream
from service.answering.verification import SentenceVerifier, Verdict, best_quote
from service.core.models import Answer, Citation, Hit, Passage, Turn
from service.core.timing import record, stage

MAX_PASSAGES = 5


Describe = Callable[[str], str]  # document id -> its source line ("" when nothing is known)


class GenerativeAnswerer:
    def __init__(self, extractive: ExtractiveAnswerer, client: ChatClient,
                 verifier: SentenceVerifier, max_passages: int = MAX_PASSAGES,
                 describe: Describe | None = None) -> None:
        if max_passages < 1:
            raise ValueError(f"max_passages must be >= 1, got {max_passages}")
        self.extractive = extractive
        self.client = client
        self.verifier = verifier
        self.max_passages = max_passages
        self.describe = describe

    def events(self, question: str, top_k: int = 5, history: Sequence[Turn] = (),
               budget_s: float | None = None) -> Iterator[Event]:
        """``budget_s``: seconds left for the LLM (the follow-up rewrite may have used some);
        None: the client's whole timeout."""
        with stage("retrieve"):
            retrieved = self.extractive.retrieve(question, top_k)
        yield CitationsEvent(retrieved.hits)
        fallback = retrieved.answer
        if not fallback.found:  # refused on retrieval: the LLM is never asked
            yield from sentence_events(fallback)
            yield DoneEvent(fallback)
            return
        hits = retrieved.hits[: self.max_passages]
        writer = _Writer(hits, self.verifier)
        reason: str | None
        passages = [h.passage for h in hits]
        try:
            yield from writer.write(self.client, answer_messages(
                question, passages, history, self._sources(passages)), budget_s)
        except LLMError as exc:
            reason = exc.reason
        else:
            reason = writer.failure()
        if reason is None:
            yield DoneEvent(writer.answer())
            return
        if not writer.citations:
            yield from sentence_events(fallback)
        yield DoneEvent(replace(fallback, fallback_reason=reason, dropped=writer.dropped))

    def _sources(self, passages: list[Passage]) -> list[str]:
        describe = self.describe
        return [describe(p.document_id) for p in passages] if describe else []


def _timed(pieces: Iterator[str], name: str) -> Iterator[str]:
    """``pieces``, adding the time spent waiting for each to the request's ``name`` stage."""
    while True:
        with stage(name):
            piece = next(pieces, None)
        if piece is None:
            return
        yield piece


class _Writer:
    """One written answer in progress: verified sentences, their citations, drop count."""

    def __init__(self, hits: tuple[Hit, ...], verifier: SentenceVerifier) -> None:
        self.hits = hits
        self.passages = [h.passage for h in hits]
        self.verifier = verifier
        self.sentences: list[str] = []
        self.citations: list[Citation] = []
        self.markers: dict[int, int] = {}  # number in the prompt -> number shown
        self.dropped = 0
        self.declined = False

    def write(self, client: ChatClient, messages: list[dict[str, str]],
              budget_s: float | None = None) -> Iterator[SentenceEvent]:
        stream = SentenceStream()
        first_token: float | None = None
        for piece in _timed(client.stream(messages, timeout_s=budget_s), "llm"):
            if piece and first_token is None:
                first_token = time.perf_counter()
            for sentence in stream.feed(piece):
                complete = time.perf_counter()
                event = self._accept(sentence)
                if event is not None:
                    if not self.sentences[1:] and first_token is not None:
                        shown = time.perf_counter()
                        record("first_sentence_after_token", (shown - first_token) * 1000)
                        record("first_sentence_check", (shown - complete) * 1000)
                    yield event
            if self.declined:
                return
        rest = stream.flush()
        if rest:
            event = self._accept(rest)
            if event is not None:
                yield event

    def _accept(self, sentence: str) -> SentenceEvent | None:
        if NO_ANSWER in sentence:
            self.declined = True
            return None
        with stage("verify"):
            verdict = self.verifier.check(sentence, self.passages)
            if not verdict.kept:
                self.dropped += 1
                return None
            return self._kept(verdict)

    def _kept(self, verdict: Verdict) -> SentenceEvent:
        shown = [self.markers.setdefault(n, len(self.markers) + 1) for n in verdict.markers]
        citations = []
        for number, marker in zip(verdict.markers, shown, strict=True):
            hit = self.hits[number - 1]
            start, end = best_quote(verdict.claim, hit.passage)
            citations.append(Citation(marker, hit, hit.passage.text[start:end],
                                      hit.passage.start + start, hit.passage.start + end))
        text = verdict.claim + "".join(f"[{m}]" for m in shown)
        self.sentences.append(text)
        self.citations.extend(citations)
        return SentenceEvent(text, tuple(citations))

    def failure(self) -> str | None:
        if self.sentences:
            return None
        if self.declined:
            return "the LLM found no answer in the passages"
        return f"no written sentence passed verification ({self.dropped} dropped)"

    def answer(self) -> Answer:
        return Answer("".join(self.sentences), True, tuple(self.citations), self.hits,
                      mode="generative", dropped=self.dropped)
