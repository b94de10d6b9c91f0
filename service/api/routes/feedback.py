"""Feedback routes: anyone may rate an answer; staff read the ratings (admin token only),
as JSON pages or all of them as CSV."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Query, Response

from service.api.csv_export import MEDIA_TYPE, csv_response
from service.api.deps import AdminDep, FeedbackDep
from service.api.presenters import FEEDBACK_CSV_HEADER, feedback_out, feedback_row
from service.api.schemas import FeedbackCreated, FeedbackList, FeedbackRequest, error_responses
from service.api.validation import Offset
from service.core import metrics
from service.storage.feedback import Feedback, FeedbackStore

router = APIRouter(prefix="/api/v1", tags=["feedback"],
                   responses=error_responses(400, 401, 403, 413, 422, 429, 507))


@router.post("/feedback", status_code=201, response_model=FeedbackCreated,
             summary="Rate an answer (thumbs up / down)")
def add_feedback(body: FeedbackRequest, store: FeedbackDep) -> FeedbackCreated:
    feedback = Feedback(question=body.question, answer=body.answer,
                        passage_ids=tuple(body.passage_ids), helpful=body.helpful,
                        comment=body.comment.strip())
    created = FeedbackCreated(id=store.add(feedback))
    metrics.count_feedback(body.helpful)
    return created


@router.get("/feedback", response_model=FeedbackList, dependencies=[AdminDep],
            responses={200: {"content": {MEDIA_TYPE: {}}}},
            summary="Recent feedback, newest first (staff only; `format=csv` for all of it)")
def list_feedback(store: FeedbackDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[Offset, Query()] = 0,
                  helpful: Annotated[bool | None, Query(description="only thumbs up (true) "
                                                        "or down (false)")] = None,
                  format: Annotated[Literal["json", "csv"], Query()] = "json",
                  ) -> FeedbackList | Response:
    if format == "csv":
        rows = store.recent(None, helpful=helpful)
        return csv_response("feedback", FEEDBACK_CSV_HEADER, map(feedback_row, rows))
    return FeedbackList(total=store.count(helpful=helpful),
                        items=[feedback_out(f) for f in store.recent(limit, offset, helpful)])


def install(app: FastAPI) -> None:
    """Called by ``create_app``: the store lives at ``data_dir/feedback.sqlite``, or in
    POLICYBOT_DATABASE_URL."""
    app.state.feedback = FeedbackStore.from_settings(app.state.settings)
    app.include_router(router)
