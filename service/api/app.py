"""The FastAPI application factory. Heavy resources load in the lifespan, not at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import Scope

from service import __version__
from service.answering.serving import IndexHolder
from service.api import docs, pages
from service.api.access_log import AccessLog
from service.api.admission import Admission
from service.api.error_handlers import install_error_handlers
from service.api.middleware import BodyLimit, HeadAsGet, SecurityHeaders
from service.api.routes import admin as admin_api
from service.api.routes import feedback as feedback_api
from service.api.routes import match as match_api
from service.api.routes import metrics as metrics_api
from service.api.routes import unanswered as unanswered_api
from service.api.routes.ask import health, router
from service.core.settings import Settings, get_settings
from service.embedding.embedders import Embedder, embedder_for
from service.storage.schema import prepare_database

DESCRIPTION = (
    "济南高新区政策问答：企业用中文提问，得到简短、每句都带出处的回答；"
    "政策文本里没有答案时如实说明，并指引到“泉惠企”企业服务站和首席政策官。"
)
UPLOAD_OVERHEAD = 1024 * 1024


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    """Build the app; ``embedder`` may be passed in to share one model between apps."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prepare_database(settings)  # a shared database: reached, its tables created
        app.state.holder = IndexHolder(settings, embedder or embedder_for(settings))
        app.state.holder.refresh()
        yield
        if app.state.holder.llm is not None:
            app.state.holder.llm.close()

    app = FastAPI(title="policybot", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)  # docs: see api/docs.py
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(health)
    _include_feature_routers(app)
    app.add_middleware(BodyLimit, limit_for=lambda scope: _body_limit(scope, settings))
    app.add_middleware(Admission, settings=settings)
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    _allow_cross_origin(app, settings)
    app.add_middleware(AccessLog)  # outermost: times and logs everything, 413s included
    return app


def _allow_cross_origin(app: FastAPI, settings: Settings) -> None:
    """POLICYBOT_CORS_ORIGINS: pages on those origins may call the API (off when empty)."""
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["content-type", "x-request-id"],
                           expose_headers=["x-request-id", "server-timing"], max_age=600)


def _body_limit(scope: Scope, settings: Settings) -> int:
    if scope["method"] == "POST" and scope["path"].rstrip("/") == "/api/v1/documents":
        return settings.max_upload_bytes + UPLOAD_OVERHEAD
    return settings.max_body_bytes


def _include_feature_routers(app: FastAPI) -> None:
    """Features that live in their own modules: web page, feedback, admin, matching, docs,
    the unanswered-questions list and the metrics."""
    for feature in (pages, feedback_api, admin_api, match_api, docs, unanswered_api, metrics_api):
        feature.install(app)
