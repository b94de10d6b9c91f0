"""The interactive API docs at ``/docs``, served from this server: no CDN at run time.

Swagger UI's script and style come from the ``swagger-ui-bundle-v2`` package (Swagger UI
5.x, which reads OpenAPI 3.1) under ``/docs/assets``; the page starts it with a script of
ours (``/docs/init.js``) rather than an inline one, so ``/docs`` gets a CSP without
``'unsafe-inline'`` scripts (``DOCS_CSP`` in ``middleware``). ReDoc is not served: it would
need a CDN or another vendored bundle, and ``/docs`` shows the same description.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

log = logging.getLogger("policybot")
ASSETS = "/docs/assets"
PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{title} – API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""
INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""
router = APIRouter(include_in_schema=False)


def swagger_ui_dir() -> Path | None:
    try:
        from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]
    except ImportError:
        return None
    folder = Path(str(swagger_ui_path))
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


@router.get("/docs/init.js")
def init_script() -> Response:
    return Response(INIT, media_type="text/javascript")


def install(app: FastAPI) -> None:
    """``/docs`` from the packaged Swagger UI; without the package, no ``/docs`` (a warning)."""
    folder = swagger_ui_dir()
    if folder is None:
        log.warning("/docs disabled: the swagger-ui-bundle-v2 package is not installed")
        return
    page = PAGE.format(title=app.title, assets=ASSETS)

    @router.get("/docs", response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=folder), name="docs-assets")
