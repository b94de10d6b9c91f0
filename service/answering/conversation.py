"""One question of a conversation, answered: follow-up rewrite, then the status of a named
notice, the profile list, the written (generative) answer or the extractive one, as a
stream of events.

The follow-up rewrite and the written answer share one LLM budget (``llm_timeout_s``), so
a question is answered within that budget plus the extractive time."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

from service.answering.events import DoneEvent, Event, answer_events, final_answer
from service.answering.followup import FollowupRewriter
from service.answering.generative import GenerativeAnswerer
from service.answering.profile_answer import ProfileAwareAnswerer
from service.answering.status_answer import StatusAnswerer
from service.core.models import Answer, Turn
from service.matching.matcher import Profile


class Conversation:
    def __init__(self, answerer: ProfileAwareAnswerer, rewriter: FollowupRewriter,
                 generative: GenerativeAnswerer | None = None,
                 status: StatusAnswerer | None = None) -> None:
        self.answerer = answerer
        self.rewriter = rewriter
        self.generative = generative
        self.status = status  # "…还有效吗？" about a named notice, from its facts

    def events(self, question: str, top_k: int = 5, profile: Profile | None = None,
               history: Sequence[Turn] = ()) -> Iterator[Event]:
        started = time.monotonic()
        standalone = self.rewriter.rewrite(question, history)
        rewritten = standalone if standalone != question else None
        status = self.status.answer_for(question, rewritten) if self.status is not None else None
        if status is not None:
            yield from answer_events(replace(status, standalone_question=rewritten))
            return
        lists = self.answerer.profile_of(standalone, profile) is not None
        if self.generative is None or lists:
            answer = self.answerer.answer(standalone, top_k=top_k, profile=profile)
            yield from answer_events(replace(answer, standalone_question=rewritten))
            return
        budget = self.generative.client.config.timeout_s - (time.monotonic() - started)
        for event in self.generative.events(standalone, top_k, history, budget):
            if isinstance(event, DoneEvent):
                event = DoneEvent(replace(event.answer, standalone_question=rewritten))
            yield event

    def answer(self, question: str, top_k: int = 5, profile: Profile | None = None,
               history: Sequence[Turn] = ()) -> Answer:
        return final_answer(self.events(question, top_k, profile, history))
