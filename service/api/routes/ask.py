"""JSON API v1: thin routes that parse, call one domain function and map to a schema."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, StreamingResponse

from service.answering.events import DoneEvent, Event, final_answer
from service.api.deps import HolderDep, SettingsDep, SnapshotDep
from service.api.outcomes import QuestionRecorder, QuestionRecorderDep
from service.api.presenters import (
    ask_response,
    llm_state,
    policy_out,
    search_result,
    sse_frames,
    without_paths,
)
from service.api.routes.match import profile_from
from service.api.schemas import (
    AskRequest,
    AskResponse,
    DocumentOut,
    DocumentsResponse,
    ReadyResponse,
    SearchRequest,
    SearchResponse,
    error_responses,
)
from service.core.models import Turn
from service.core.timing import HEADER as TIMING_HEADER
from service.core.timing import start_request

router = APIRouter(prefix="/api/v1", responses=error_responses(400, 413, 422, 429, 503))
health = APIRouter()


STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
SSE_EVENT = {"type": "object", "required": ["event", "data"],  # one event of the stream
             "properties": {"event": {"type": "string"}, "data": {"type": "string"}}}
STREAM_DOC = {200: {"content": {"text/event-stream": {"schema": SSE_EVENT}},
                    "description": "With `stream: true`: events citations, sentence…, done."}}


@router.post("/ask", response_model=AskResponse, summary="Answer a question with citations",
             responses=STREAM_DOC)  # type: ignore[arg-type]
def ask(body: AskRequest, recorder: QuestionRecorderDep, snapshot: SnapshotDep,
        settings: SettingsDep, response: Response) -> AskResponse | StreamingResponse:
    timings = start_request()
    snapshot = snapshot.including_expired(body.include_expired)
    statuses = snapshot.statuses.by_document()
    profile = profile_from(body.profile, snapshot.matcher.taxonomy) if body.profile else None
    history = [Turn(t.question, t.answer) for t in body.history]
    events = recorded(snapshot.conversation.events(
        body.question, top_k=body.top_k or settings.top_k, profile=profile, history=history),
        recorder, body.question)
    if body.stream:
        return StreamingResponse(sse_frames(events, timings.elapsed_ms, statuses),
                                 media_type="text/event-stream", headers=STREAM_HEADERS)
    answer = final_answer(events)
    response.headers[TIMING_HEADER] = timings.header()
    return ask_response(answer, timings.elapsed_ms(), statuses)


def recorded(events: Iterator[Event], recorder: QuestionRecorder,
             question: str) -> Iterator[Event]:
    """The events, with the final answer recorded (metrics, log, unanswered list)."""
    for event in events:
        if isinstance(event, DoneEvent):
            recorder.record(question, event.answer)
        yield event


@router.post("/search", response_model=SearchResponse, summary="Hybrid passage search")
def search(body: SearchRequest, snapshot: SnapshotDep, settings: SettingsDep,
           response: Response) -> SearchResponse:
    timings = start_request()
    snapshot = snapshot.including_expired(body.include_expired)
    hits = snapshot.retriever.search(body.query, top_k=body.top_k or settings.top_k)
    took_ms = round(timings.elapsed_ms(), 2)
    response.headers[TIMING_HEADER] = timings.header()
    statuses = snapshot.statuses.by_document()
    return SearchResponse(results=[search_result(h, statuses) for h in hits], took_ms=took_ms)


@router.get("/documents", response_model=DocumentsResponse, summary="Indexed documents")
def documents(snapshot: SnapshotDep) -> DocumentsResponse:
    statuses = snapshot.statuses.by_document()
    return DocumentsResponse(documents=[
        DocumentOut(document_id=doc_id, title=meta["title"], source=meta["source"],
                    date=meta["date"], passages=meta["passages"], sha256=meta["sha256"],
                    policy=policy_out(statuses[doc_id]))
        for doc_id, meta in sorted(snapshot.index.documents.items())
    ], status_date=snapshot.statuses.as_of().isoformat())


@health.get("/healthz", summary="200 while the process lives")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health.get("/readyz", response_model=ReadyResponse, responses=error_responses(503),
            summary="200 once an index is loaded")
def readyz(holder: HolderDep) -> ReadyResponse | JSONResponse:
    if not holder.ready:
        holder.refresh()
    if not holder.ready:
        message = without_paths(holder.last_error or "the index is still loading")
        return JSONResponse({"error": message, "status": 503}, status_code=503)
    snapshot = holder.snapshot()
    return ReadyResponse(status="ready", passages=len(snapshot.index.passages),
                         index_version=snapshot.version,
                         load_error=without_paths(holder.last_error) if holder.last_error else None,
                         llm=llm_state(holder.llm))
