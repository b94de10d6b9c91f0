"""The index a running process serves, reloaded when another process switches CURRENT."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from service.answer import Answerer, ExtractiveAnswerer, RefusalPolicy
from service.embedding import Embedder
from service.errors import NotReady, ServiceError
from service.index_store import current_version, load_version
from service.matching import PolicyMatcher
from service.profile_answer import ProfileAwareAnswerer
from service.retrieval import QueryVectors, Retriever
from service.settings import Settings

CHECK_INTERVAL_S = 0.5


@dataclass(frozen=True)
class Snapshot:
    """One loaded index version and the components over it; requests keep theirs."""

    version: str
    retriever: Retriever
    answerer: Answerer
    matcher: PolicyMatcher  # policy cards of this version, built on first use

    @property
    def index(self):  # type: ignore[no-untyped-def]
        return self.retriever.index


def refusal_policy(settings: Settings) -> RefusalPolicy:
    return RefusalPolicy(settings.refusal_threshold, settings.refusal_dense_weight,
                         settings.refusal_dense_center)


class IndexHolder:
    """Serves the CURRENT index version; checks the pointer at most every half second.

    A new version is loaded beside the old one and swapped in with one assignment,
    so requests in flight finish on the version they started with.
    """

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.query_vectors = QueryVectors(embedder, settings.query_cache_size)
        self._snapshot: Snapshot | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def snapshot(self) -> Snapshot:
        if time.monotonic() - self._checked >= CHECK_INTERVAL_S:
            self.refresh()
        if self._snapshot is None:
            raise NotReady(self.last_error or "the index is not loaded yet; try again shortly")
        return self._snapshot

    def refresh(self) -> None:
        """Load the version CURRENT names if it differs from the one served."""
        with self._lock:
            self._checked = time.monotonic()
            version = current_version(self.settings.index_dir)
            if version is None or (self._snapshot and self._snapshot.version == version):
                if version is None:
                    self.last_error = "no index yet; run `policybot reindex`"
                return
            try:
                self._snapshot = self._load(version)
                self.last_error = None
            except ServiceError as exc:
                self.last_error = exc.message

    @property
    def ready(self) -> bool:
        return self._snapshot is not None

    def _load(self, version: str) -> Snapshot:
        index = load_version(self.settings.index_dir, version, self.embedder.name)
        retriever = Retriever.from_settings(index, self.query_vectors, self.settings)
        answerer = ExtractiveAnswerer(retriever, refusal_policy(self.settings),
                                      self.settings.answer_max_chars)
        matcher = PolicyMatcher(index)  # cards are built on first use, once per version
        return Snapshot(version, retriever, ProfileAwareAnswerer(answerer, matcher), matcher)
