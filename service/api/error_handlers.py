"""One place that renders every error as {"error", "status"} (JSON under /api)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from service.core.errors import ServiceError

log = logging.getLogger("policybot")
PROBED = ("GET", "POST", "PUT", "PATCH", "DELETE")


def error_response(status: int, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The house error body. A message that quotes bad input (an unknown field named
    ``"\ud800"``) shows unencodable characters as escapes instead of failing to encode."""
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return JSONResponse({"error": message, "status": status}, status_code=status,
                        headers=headers)


def describe_validation(exc: RequestValidationError) -> tuple[int, str]:
    """A one-line message naming each bad field and what it should be."""
    messages = []
    for error in exc.errors():
        kind = error.get("type", "")
        if kind in ("json_invalid", "json_type"):
            return 400, "the request body is not valid JSON; send a JSON object such as " \
                        '{"question": "外籍员工的工作许可和居留能一起办吗？"}'
        field = ".".join(str(p) for p in error.get("loc", ())[1:]) or "body"
        messages.append(f"{field}: {_message(kind, error)}")
    return 422, "; ".join(messages) or "the request is not valid"


def _message(kind: str, error: dict) -> str:  # type: ignore[type-arg]
    if kind == "extra_forbidden":
        return "unknown field; remove it (accepted fields are listed at /docs)"
    if kind == "missing":
        return "is required"
    if kind == "model_attributes_type" or kind == "dict_type":
        return "the body must be a JSON object"
    text = str(error.get("msg", "is not valid"))
    return text.removeprefix("Value error, ")


def allowed_methods(request: Request) -> str:
    """Every method some route accepts on this path (starlette names only the first route's;
    FastAPI's included routers hide theirs, so each method is tried), HEAD wherever GET is."""
    methods = {method for method in PROBED
               if any(route.matches({**request.scope, "method": method})[0] == Match.FULL
                      for route in request.app.routes)}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.headers or None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(*describe_validation(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        headers = dict(exc.headers or {})  # 405 carries Allow
        if exc.status_code == 404:
            detail = f"no such endpoint: {request.method} {request.url.path}; see /docs"
        elif exc.status_code == 405:
            allowed = allowed_methods(request) or headers.get("Allow")
            if allowed:
                headers["Allow"] = allowed
            detail = (f"{request.method} is not allowed on {request.url.path}"
                      + (f"; use {allowed}" if allowed else "") + "; see /docs")
        return error_response(exc.status_code, detail, headers or None)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; the staff have been told, please retry")
