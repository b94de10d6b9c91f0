"""The questions the service could not answer, for staff (admin token): JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Query, Response

from service.api.csv_export import MEDIA_TYPE, csv_response
from service.api.deps import AdminDep, QuestionLogDep, SettingsDep
from service.api.outcomes import question_log_for
from service.api.presenters import UNANSWERED_CSV_HEADER, unanswered_out, unanswered_row
from service.api.schemas import UnansweredList, error_responses
from service.api.validation import Offset

router = APIRouter(prefix="/api/v1", tags=["staff"], dependencies=[AdminDep],
                   responses=error_responses(401, 403, 422))


@router.get("/unanswered", response_model=UnansweredList,
            responses={200: {"content": {MEDIA_TYPE: {}}}},
            summary="Questions the texts could not answer, most recently asked first")
def unanswered(log: QuestionLogDep, settings: SettingsDep,
               format: Annotated[Literal["json", "csv"], Query(
                   description="`csv`: every question, UTF-8 with BOM")] = "json",
               limit: Annotated[int, Query(ge=1, le=500)] = 100,
               offset: Annotated[Offset, Query()] = 0) -> UnansweredList | Response:
    if format == "csv":
        groups = log.grouped() if log else []
        return csv_response("unanswered", UNANSWERED_CSV_HEADER, map(unanswered_row, groups))
    items = [unanswered_out(q) for q in log.grouped(limit, offset)] if log else []
    return UnansweredList(enabled=log is not None, keep_days=settings.question_log_days,
                          total=log.count_groups() if log else 0, items=items)


def install(app: FastAPI) -> None:
    """Called by ``create_app``: the log lives at ``data_dir/unanswered.sqlite``, or in
    POLICYBOT_DATABASE_URL."""
    app.state.question_log = question_log_for(app.state.settings)
    app.include_router(router)
