"""``GET /metrics``: the Prometheus text format (all workers' counts in multiprocess mode)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response

from service.core import metrics

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def prometheus_metrics(request: Request) -> Response:
    holder = request.app.state.holder
    if holder.ready:
        snapshot = holder.snapshot()
        metrics.set_served_index(snapshot.version, len(snapshot.index.passages))
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


def install(app: FastAPI) -> None:
    app.include_router(router)
