"""Feedback routes: anyone may rate an answer; staff read the ratings (admin token only)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel, Field, StrictBool

from service.api.auth import require_admin
from service.api.csv_export import MEDIA_TYPE, csv_response
from service.api.schemas import ErrorResponse, StrictModel, UserText
from service.core import metrics
from service.storage.feedback import Feedback, FeedbackStore

CSV_HEADER = ("id", "created", "helpful", "question", "answer", "passage_ids", "comment")
ERRORS = {code: {"model": ErrorResponse} for code in (400, 401, 403, 413, 422)}
router = APIRouter(prefix="/api/v1", tags=["feedback"], responses=ERRORS)  # type: ignore[arg-type]

PassageId = Annotated[str, Field(strict=True, min_length=1, max_length=200)]


class FeedbackRequest(StrictModel):
    question: UserText = Field(description="The question that was asked, 1–500 characters.",
                               examples=["外籍员工的工作许可和居留能一起办吗？"])
    answer: str = Field(max_length=4000, strict=True, description="The answer that was shown.")
    passage_ids: list[PassageId] = Field(default_factory=list, max_length=20,
                                         examples=[["jinan-hitech-2023-q3#15"]])
    helpful: StrictBool = Field(description="true for thumbs up, false for thumbs down.")
    comment: str = Field("", max_length=1000, strict=True, description="Optional remark.")


class FeedbackCreated(BaseModel):
    id: int = Field(examples=[1])


class FeedbackOut(BaseModel):
    id: int
    created: str = Field(description="UTC time, ISO 8601.", examples=["2026-01-05T08:30:00+00:00"])
    question: str
    answer: str
    passage_ids: list[str]
    helpful: bool
    comment: str


class FeedbackList(BaseModel):
    total: int
    items: list[FeedbackOut]


def get_store(request: Request) -> FeedbackStore:
    return request.app.state.feedback


StoreDep = Annotated[FeedbackStore, Depends(get_store)]


@router.post("/feedback", status_code=201, response_model=FeedbackCreated,
             summary="Rate an answer (thumbs up / down)")
def add_feedback(body: FeedbackRequest, store: StoreDep) -> FeedbackCreated:
    feedback = Feedback(question=body.question, answer=body.answer,
                        passage_ids=tuple(body.passage_ids), helpful=body.helpful,
                        comment=body.comment.strip())
    created = FeedbackCreated(id=store.add(feedback))
    metrics.count_feedback(body.helpful)
    return created


@router.get("/feedback", response_model=FeedbackList, dependencies=[Depends(require_admin)],
            responses={200: {"content": {MEDIA_TYPE: {}}}},
            summary="Recent feedback, newest first (staff only; `format=csv` for all of it)")
def list_feedback(store: StoreDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[int, Query(ge=0)] = 0,
                  helpful: Annotated[bool | None, Query(description="only thumbs up (true) "
                                                        "or down (false)")] = None,
                  format: Annotated[Literal["json", "csv"], Query()] = "json",
                  ) -> FeedbackList | Response:
    if format == "csv":
        rows = store.recent(None, helpful=helpful)
        return csv_response("feedback", CSV_HEADER, [
            (f.id, f.created, "helpful" if f.helpful else "not helpful", f.question, f.answer,
             " ".join(f.passage_ids), f.comment) for f in rows])
    items = [FeedbackOut(id=f.id or 0, created=f.created, question=f.question, answer=f.answer,
                         passage_ids=list(f.passage_ids), helpful=f.helpful, comment=f.comment)
             for f in store.recent(limit, offset, helpful=helpful)]
    return FeedbackList(total=store.count(helpful=helpful), items=items)


def install(app: FastAPI) -> None:
    """Called by ``create_app``: the store lives at ``data_dir/feedback.sqlite``."""
    app.state.feedback = FeedbackStore(app.state.settings.data_dir / "feedback.sqlite")
    app.include_router(router)
