"""What became of each question: counted in the metrics, logged, and kept when refused.

``/api/v1/ask`` takes a ``QuestionRecorderDep`` and calls ``record`` with its answer. A
question whose handler fails after the recorder was made (e.g. the index is not loaded)
counts as ``error``; one refused as invalid input (4xx) counts as nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.exceptions import RequestValidationError

from service.api.access_log import access_fields
from service.api.deps import QuestionLogDep, SettingsDep
from service.core import metrics
from service.core.errors import ServiceError
from service.core.models import Answer
from service.core.settings import Settings
from service.storage.questions import QuestionLog


class QuestionRecorder:
    def __init__(self, question_log: QuestionLog | None, log_questions: bool) -> None:
        self.question_log = question_log
        self.log_questions = log_questions
        self.outcome: str | None = None

    def record(self, question: str, answer: Answer) -> None:
        self.outcome = "answered" if answer.found else "refused"
        metrics.count_question(self.outcome)
        fields = access_fields()
        fields["outcome"] = self.outcome
        if self.log_questions:
            fields["question"] = question
        if not answer.found and self.question_log is not None:
            self.question_log.record(question)


async def question_recorder(log: QuestionLogDep,
                            settings: SettingsDep) -> AsyncIterator[QuestionRecorder]:
    recorder = QuestionRecorder(log, settings.log_questions)
    try:
        yield recorder
    except Exception as exc:
        if recorder.outcome is None and _server_side(exc):
            metrics.count_question("error")
            access_fields()["outcome"] = "error"
        raise


def _server_side(exc: Exception) -> bool:
    """Failures that are the service's (5xx), not bad input (4xx)."""
    if isinstance(exc, ServiceError):
        return exc.status >= 500
    return not isinstance(exc, RequestValidationError | HTTPException)


def question_log_for(settings: Settings) -> QuestionLog | None:
    """The store behind ``GET /api/v1/unanswered``; None when POLICYBOT_QUESTION_LOG=off."""
    if not settings.question_log:
        return None
    return QuestionLog.from_settings(settings)


QuestionRecorderDep = Annotated[QuestionRecorder, Depends(question_recorder)]
