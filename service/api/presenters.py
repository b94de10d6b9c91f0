"""Map domain objects to the API's response schemas; the CLI's --json uses them too."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict
from datetime import datetime, timezone

from service.answering.events import CitationsEvent, DoneEvent, Event, SentenceEvent
from service.answering.llm_client import ChatClient
from service.api.schemas import (
    AskResponse,
    BuildOut,
    CitationOut,
    DocumentAdded,
    FeedbackOut,
    JobOut,
    LLMState,
    MatchOut,
    PolicyOut,
    ProfileOut,
    SearchResult,
    TaxonomyFacet,
    TaxonomyResponse,
    TaxonomyValue,
    UnansweredOut,
)
from service.core.errors import ServiceError
from service.core.models import Answer, Citation, Hit
from service.index.jobs import Job
from service.index.library import Added
from service.index.policy_status import DocumentStatus
from service.matching.matcher import LABELS, PROFILE_FACETS, Evidence, Match, Profile
from service.matching.taxonomy import Taxonomy
from service.storage.feedback import Feedback
from service.storage.questions import UnansweredQuestion

log = logging.getLogger("policybot")


Statuses = Mapping[str, DocumentStatus]  # document id -> its status on the status date


def policy_out(status: DocumentStatus) -> PolicyOut:
    facts = status.facts
    return PolicyOut(agency=facts.agency or None, doc_number=facts.doc_number or None,
                     issued=facts.issued or None, effective=facts.effective or None,
                     expires=facts.expires or None, replaces=list(facts.replaces),
                     status=status.status,  # type: ignore[arg-type]
                     status_label=status.label, replaced_by=status.replaced_by or None)


def _policy(document_id: str, statuses: Statuses | None) -> PolicyOut | None:
    status = statuses.get(document_id) if statuses is not None else None
    return policy_out(status) if status is not None else None


def citation_out(citation: Citation, statuses: Statuses | None = None) -> CitationOut:
    passage = citation.hit.passage
    return CitationOut(
        marker=citation.marker, passage_id=passage.id, document_id=passage.document_id,
        title=passage.title, text=passage.text, start=passage.start, end=passage.end,
        score=citation.hit.score, quote=citation.quote, quote_start=citation.quote_start,
        quote_end=citation.quote_end, heading=passage.heading,
        source=passage.source or None, date=passage.date or None,
        policy=_policy(passage.document_id, statuses),
    )


def ask_response(answer: Answer, took_ms: float,
                 statuses: Statuses | None = None) -> AskResponse:
    return AskResponse(answer=answer.text, found=answer.found,
                       citations=[citation_out(c, statuses) for c in answer.citations],
                       took_ms=round(took_ms, 2), mode=answer.mode,  # type: ignore[arg-type]
                       dropped=answer.dropped, fallback_reason=answer.fallback_reason,
                       standalone_question=answer.standalone_question)


def sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def sse_frames(events: Iterator[Event], elapsed_ms: Callable[[], float],
               statuses: Statuses | None = None) -> Iterator[str]:
    """An answer's events as text/event-stream frames: ``citations`` (the passages),
    ``sentence`` (text and its citations), ``done`` (the AskResponse JSON). A failure
    after the stream began becomes an ``error`` frame, never a broken stream."""
    try:
        for event in events:
            if isinstance(event, CitationsEvent):
                yield sse("citations", {"passages": [search_result(h, statuses).model_dump()
                                                     for h in event.hits]})
            elif isinstance(event, SentenceEvent):
                yield sse("sentence", {"text": event.text, "citations": [
                    citation_out(c, statuses).model_dump() for c in event.citations]})
            elif isinstance(event, DoneEvent):
                yield sse("done", ask_response(event.answer, elapsed_ms(), statuses).model_dump())
    except ServiceError as exc:
        yield sse("error", {"error": exc.message, "status": exc.status})
    except Exception:
        log.exception("a streamed answer failed")
        yield sse("error", {"error": "the answer failed on the server; ask again", "status": 500})


def llm_state(client: ChatClient | None) -> LLMState:
    if client is None:
        return LLMState(configured=False)
    return LLMState(configured=True, model=client.config.model, breaker=client.breaker.state)


def search_result(hit: Hit, statuses: Statuses | None = None) -> SearchResult:
    passage = hit.passage
    return SearchResult(
        passage_id=passage.id, document_id=passage.document_id, title=passage.title,
        text=passage.text, start=passage.start, end=passage.end, score=hit.score,
        dense_score=hit.dense_score, bm25_score=hit.bm25_score, heading=passage.heading,
        source=passage.source or None, date=passage.date or None,
        policy=_policy(passage.document_id, statuses),
    )


def document_added(added: Added) -> DocumentAdded:
    return DocumentAdded(document_id=added.document_id, title=added.title,
                         passages=added.passages, document_ids=list(added.document_ids))


def job_out(job: Job) -> JobOut:
    result = BuildOut(**asdict(job.result)) if job.result else None
    seconds = round(job.finished - job.started, 2) if job.finished and job.started else None
    return JobOut(job=job.id, status=job.status, stage=job.stage, done=job.done,
                  total=job.total, result=result, error=job.error, kind=job.kind,
                  started=_iso(job.started) if job.started else None, seconds=seconds)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


FEEDBACK_CSV_HEADER = ("id", "created", "helpful", "question", "answer", "passage_ids",
                       "comment")


def feedback_row(feedback: Feedback) -> tuple[object, ...]:
    return (feedback.id, feedback.created, "helpful" if feedback.helpful else "not helpful",
            feedback.question, feedback.answer, " ".join(feedback.passage_ids), feedback.comment)


def feedback_out(feedback: Feedback) -> FeedbackOut:
    return FeedbackOut(id=feedback.id or 0, created=feedback.created, question=feedback.question,
                       answer=feedback.answer, passage_ids=list(feedback.passage_ids),
                       helpful=feedback.helpful, comment=feedback.comment)


def profile_out(profile: Profile) -> ProfileOut:
    return ProfileOut(industries=list(profile.industries),
                      qualifications=list(profile.qualifications), needs=list(profile.needs))


def match_out(match: Match, evidence: Evidence, marker: int,
              statuses: Statuses | None = None) -> MatchOut:
    """One match with its summary, and per reason the sentence that says it (with its
    notice's agency, number, dates and status when ``statuses`` are given)."""
    passage = match.card.passage
    quotes = {quote.start: quote for _, quote in evidence.quotes}  # distinct sentences
    return MatchOut(
        title=passage.heading or passage.title, summary=evidence.summary.text,
        reasons=list(match.reasons), score=match.score,
        citations=[citation_out(match.citation(marker, q), statuses) for q in quotes.values()],
        triggers={reason: match.triggers(facet, tag) for reason, facet, tag in match.reason_tags()},
    )


def taxonomy_out(taxonomy: Taxonomy) -> TaxonomyResponse:
    return TaxonomyResponse(facets=[
        TaxonomyFacet(name=facet, label=LABELS[facet], values=[
            TaxonomyValue(name=tag.name, synonyms=list(tag.synonyms))
            for tag in taxonomy.facet(facet).tags
        ])
        for facet in PROFILE_FACETS
    ])


def unanswered_out(question: UnansweredQuestion) -> UnansweredOut:
    return UnansweredOut(question=question.question, count=question.count,
                         first_asked=question.first_asked, last_asked=question.last_asked)


UNANSWERED_CSV_HEADER = ("question", "count", "first_asked", "last_asked")


def unanswered_row(question: UnansweredQuestion) -> tuple[object, ...]:
    return (question.question, question.count, question.first_asked, question.last_asked)


_ABSOLUTE_PATH = re.compile(  # not a URL, not one of our endpoints
    r"(?<![\w.:/~-])/(?!api/|docs|static/|readyz|healthz)(?:[^\s'\"/]+/)*([^\s'\"/]*)")


def without_paths(message: str) -> str:
    """A message for anyone to read: absolute paths (which tell an attacker the layout of the
    server) cut to their last part, ``…/vectors.faiss``. The log keeps them whole."""
    return _ABSOLUTE_PATH.sub(lambda m: f"…/{m.group(1)}", message)
