"""Map domain objects (Answer, Hit) to the API's response schemas."""

from __future__ import annotations

import re

from service.api.schemas import AskResponse, CitationOut, SearchResult
from service.core.models import Answer, Citation, Hit


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


_ABSOLUTE_PATH = re.compile(  # not a URL, not one of our endpoints
    r"(?<![\w.:/~-])/(?!api/|docs|static/|readyz|healthz)(?:[^\s'\"/]+/)*([^\s'\"/]*)")


def without_paths(message: str) -> str:
    """A message for anyone to read: absolute paths (which tell an attacker the layout of the
    server) cut to their last part, ``…/vectors.faiss``. The log keeps them whole."""
    return _ABSOLUTE_PATH.sub(lambda m: f"…/{m.group(1)}", message)
