"""One JSON access line per request, a request id, and the request metrics.

The id is the caller's ``X-Request-ID`` when it is sane (1–64 characters of letters,
digits, ``.``, ``_``, ``-``), else a new uuid4; it is echoed in the response and set on
every log line the request causes. Routes add fields to their access line with
``access_fields()`` (the question route adds its outcome, and the question only when
``POLICYBOT_LOG_QUESTIONS=on``). Headers and query strings are never logged.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core import metrics
from service.core.json_logs import request_id

HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
_fields: ContextVar[dict[str, Any] | None] = ContextVar("policybot_access_fields", default=None)
log = logging.getLogger("policybot.access")


def access_fields() -> dict[str, Any]:
    """The extra fields of the current request's access line (a throwaway dict outside one)."""
    fields = _fields.get()
    return fields if fields is not None else {}


def incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == HEADER:
            return value.decode("ascii") if _SANE_ID.fullmatch(value) else None
    return None


def route_template(scope: Scope) -> str:
    """``/api/v1/documents/{document_id:path}`` rather than the path (bounded labels)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else metrics.UNMATCHED_ROUTE


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_request_id(scope) or uuid.uuid4().hex
        id_token, fields_token = request_id.set(rid), _fields.set({})
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            metrics.observe_request(route, scope["method"], status, seconds)
            log.info("%s %s %d", scope["method"], route, status, extra={"fields": {
                "request_id": rid, "method": scope["method"], "route": route, "path": scope["path"],
                "status": status, "duration_ms": round(seconds * 1000, 2),
                **access_fields()}})
            _fields.reset(fields_token)
            request_id.reset(id_token)
