"""Map domain objects (Answer, Hit) to the API's response schemas."""

from __future__ import annotations

from service.api.schemas import AskResponse, CitationOut, SearchResult, UnansweredOut
from service.core.models import Answer, Citation, Hit
from service.storage.questions import UnansweredQuestion


def citation_out(citation: Citation) -> CitationOut:
    passage = citation.hit.passage
    return CitationOut(
        marker=citation.marker, passage_id=passage.id, document_id=passage.document_id,
        title=passage.title, text=passage.text, start=passage.start, end=passage.end,
        score=citation.hit.score, quote=citation.quote, quote_start=citation.quote_start,
        quote_end=citation.quote_end, heading=passage.heading,
        source=passage.source or None, date=passage.date or None,
    )


def ask_response(answer: Answer, took_ms: float) -> AskResponse:
    return AskResponse(answer=answer.text, found=answer.found,
                       citations=[citation_out(c) for c in answer.citations],
                       took_ms=round(took_ms, 2))


def search_result(hit: Hit) -> SearchResult:
    passage = hit.passage
    return SearchResult(
        passage_id=passage.id, document_id=passage.document_id, title=passage.title,
        text=passage.text, start=passage.start, end=passage.end, score=hit.score,
        dense_score=hit.dense_score, bm25_score=hit.bm25_score, heading=passage.heading,
        source=passage.source or None, date=passage.date or None,
    )


def unanswered_out(question: UnansweredQuestion) -> UnansweredOut:
    return UnansweredOut(question=question.question, count=question.count,
                         first_asked=question.first_asked, last_asked=question.last_asked)


UNANSWERED_CSV_HEADER = ("question", "count", "first_asked", "last_asked")


def unanswered_row(question: UnansweredQuestion) -> tuple[object, ...]:
    return (question.question, question.count, question.first_asked, question.last_asked)
