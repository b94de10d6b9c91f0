"""Feedback routes: anyone may rate an answer; staff read the ratings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query

from service.api.deps import FeedbackDep, StaffDep
from service.api.presenters import feedback_out
from service.api.schemas import FeedbackCreated, FeedbackList, FeedbackRequest, error_responses
from service.api.validation import Offset
from service.storage.feedback import Feedback, FeedbackStore

router = APIRouter(prefix="/api/v1", tags=["feedback"],
                   responses=error_responses(400, 401, 403, 413, 422, 429, 507))

@router.post("/feedback", status_code=201, response_model=FeedbackCreated,
             summary="Rate an answer (thumbs up / down)")
def add_feedback(body: FeedbackRequest, store: FeedbackDep) -> FeedbackCreated:
    feedback = Feedback(question=body.question, answer=body.answer,
                        passage_ids=tuple(body.passage_ids), helpful=body.helpful,
                        comment=body.comment.strip())
    return FeedbackCreated(id=store.add(feedback))


@router.get("/feedback", response_model=FeedbackList, dependencies=[StaffDep],
            summary="Recent feedback, newest first (staff only)")
def list_feedback(store: FeedbackDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[Offset, Query()] = 0) -> FeedbackList:
    return FeedbackList(total=store.count(),
                        items=[feedback_out(f) for f in store.recent(limit, offset)])


def install(app: FastAPI) -> None:
    """Called by ``create_app``: the store lives at ``data_dir/feedback.sqlite``."""
    settings = app.state.settings
    app.state.feedback = FeedbackStore(settings.data_dir / "feedback.sqlite",
                                       settings.feedback_max_rows)
    app.include_router(router)
