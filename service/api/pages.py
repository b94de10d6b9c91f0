"""The web chat page at ``/``, the staff console at ``/admin``, their static files at
``/static`` and an HTML 404 page.

Templates and static files live in ``web/`` at the repository root, next to this package
(a clone, or ``pip install -e .``); a built wheel ships them as ``service/web``. Without
either, the page is left out (with a warning) and the JSON API still serves.
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from service import __version__
from service.api.schemas import MAX_TEXT


def _web_dir() -> Path:
    package = Path(__file__).resolve().parents[1]  # service/
    candidates = [package.parent / "web", package / "web"]  # a clone; an installed wheel
    return next((c for c in candidates if (c / "templates").is_dir()), candidates[0])


WEB_DIR = _web_dir()
EXAMPLE_QUESTIONS = (
    "企业在哪里可以查到惠企政策？",
    "外籍员工的工作许可和居留能一起办吗？",
    "高新区对人才有什么政策？",
    "科创金融有哪些产品？",
    "我们是专精特新企业，能享受哪些政策？",
)
JSON_PREFIXES = ("/api", "/static", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz")

log = logging.getLogger("policybot")
templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)


def _context() -> dict[str, object]:
    return {"version": __version__, "max_chars": MAX_TEXT}


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "index.html", {**_context(), "examples": EXAMPLE_QUESTIONS}
    )


@router.get("/admin", response_class=HTMLResponse)
def admin_console(request: Request) -> HTMLResponse:
    """The staff console; it signs in with the admin token and calls the admin API."""
    return templates.TemplateResponse(request, "admin.html", _context())


def install(app: FastAPI) -> None:
    """Called by ``create_app``: the page, ``/static``, and 404 as HTML outside the APIs."""
    if not WEB_DIR.is_dir():
        log.warning("web page disabled: %s not found; reinstall policybot (pip install .)",
                    WEB_DIR)
        return
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    json_handler = app.exception_handlers[HTTPException]

    async def not_found_page(request: Request, exc: Exception) -> Response:
        wants_page = (isinstance(exc, HTTPException) and exc.status_code == 404
                      and request.method in ("GET", "HEAD")
                      and not request.url.path.startswith(JSON_PREFIXES))
        if not wants_page:
            response = json_handler(request, exc)
            return await response if inspect.isawaitable(response) else response
        return templates.TemplateResponse(request, "404.html", _context(), status_code=404)

    app.add_exception_handler(HTTPException, not_found_page)
