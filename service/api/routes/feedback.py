"""Feedback routes: anyone may rate an answer; staff read the ratings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field, StrictBool

from service.api.auth import DISABLED, check_bearer
from service.api.deps import SettingsDep
from service.api.schemas import ErrorResponse, StrictModel
from service.api.validation import LongText, Name, Offset, UserText
from service.core.errors import Forbidden
from service.storage.feedback import Feedback, FeedbackStore

LOCAL_CLIENTS = frozenset({"127.0.0.1", "::1", "testclient"})
ERRORS = {code: {"model": ErrorResponse} for code in (400, 401, 403, 413, 422, 429, 507)}
router = APIRouter(prefix="/api/v1", tags=["feedback"], responses=ERRORS)  # type: ignore[arg-type]

PassageId = Name


class FeedbackRequest(StrictModel):
    question: UserText = Field(description="The question that was asked, 1–500 characters.",
                               examples=["外籍员工的工作许可和居留能一起办吗？"])
    answer: LongText = Field(max_length=4000, description="The answer that was shown.")
    passage_ids: list[PassageId] = Field(default_factory=list, max_length=20,
                                         examples=[["jinan-hitech-2023-q3#15"]])
    helpful: StrictBool = Field(description="true for thumbs up, false for thumbs down.")
    comment: LongText = Field("", max_length=1000, description="Optional remark.")


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


def require_staff(request: Request, settings: SettingsDep) -> None:
    """A bearer token when one is configured; otherwise only callers on this machine."""
    if settings.admin_token:
        check_bearer(request, settings.admin_token)
        return
    host = request.client.host if request.client else ""
    if host not in LOCAL_CLIENTS:
        raise Forbidden(DISABLED)


StoreDep = Annotated[FeedbackStore, Depends(get_store)]


@router.post("/feedback", status_code=201, response_model=FeedbackCreated,
             summary="Rate an answer (thumbs up / down)")
def add_feedback(body: FeedbackRequest, store: StoreDep) -> FeedbackCreated:
    feedback = Feedback(question=body.question, answer=body.answer,
                        passage_ids=tuple(body.passage_ids), helpful=body.helpful,
                        comment=body.comment.strip())
    return FeedbackCreated(id=store.add(feedback))


@router.get("/feedback", response_model=FeedbackList, dependencies=[Depends(require_staff)],
            summary="Recent feedback, newest first (staff only)")
def list_feedback(store: StoreDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[Offset, Query()] = 0) -> FeedbackList:
    items = [FeedbackOut(id=f.id or 0, created=f.created, question=f.question, answer=f.answer,
                         passage_ids=list(f.passage_ids), helpful=f.helpful, comment=f.comment)
             for f in store.recent(limit, offset)]
    return FeedbackList(total=store.count(), items=items)


def install(app: FastAPI) -> None:
    """Called by ``create_app``: the store lives at ``data_dir/feedback.sqlite``."""
    settings = app.state.settings
    app.state.feedback = FeedbackStore(settings.data_dir / "feedback.sqlite",
                                       settings.feedback_max_rows)
    app.include_router(router)
