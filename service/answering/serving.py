"""The index a running process serves, reloaded when another process switches CURRENT (or
the Milvus alias)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from service.answering.conversation import Conversation
from service.answering.extractive import Answerer, ExtractiveAnswerer, RefusalPolicy
from service.answering.followup import FollowupRewriter
from service.answering.generative import GenerativeAnswerer
from service.answering.llm_client import ChatClient, CircuitBreaker, LLMConfig
from service.answering.profile_answer import ProfileAwareAnswerer
from service.answering.retrieval import Retriever
from service.answering.status_answer import StatusAnswerer
from service.answering.status_filter import Statuses, in_force, in_force_matcher
from service.answering.verification import SentenceVerifier
from service.core.errors import NotReady, ServiceError
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.embedding.query_vectors import QueryVectors
from service.index.store import LoadedIndex
from service.index.vector_store import current_version, load_version
from service.matching.matcher import PolicyMatcher

log = logging.getLogger("policybot")
CHECK_INTERVAL_S = 0.5
WARM_QUESTION = "高新区对专精特新企业有哪些支持政策？"


@dataclass(frozen=True)
class Snapshot:
    """One loaded index version and the components over it; requests keep theirs."""

    version: str
    retriever: Retriever
    answerer: Answerer
    matcher: PolicyMatcher  # policy cards of this version, built on first use
    conversation: Conversation  # follow-ups, written answers, streaming
    statuses: Statuses  # 有效 / 已失效 / 已被替代 … of each document on the status date
    everything: Snapshot | None = None  # the same over lapsed notices too (include_expired)

    @property
    def index(self):  # type: ignore[no-untyped-def]
        return self.retriever.index

    def including_expired(self, include: bool) -> Snapshot:
        """This snapshot, or (``include``) the one that also answers from expired and
        replaced notices."""
        return self.everything if include and self.everything is not None else self


def llm_client(settings: Settings) -> ChatClient | None:
    """The OpenAI-compatible client, or None when no base URL is set (extractive only)."""
    if not settings.llm_base_url:
        return None
    config = LLMConfig(settings.llm_base_url, settings.llm_model, settings.llm_api_key,
                       settings.llm_timeout_s, settings.llm_max_tokens)
    return ChatClient(config, CircuitBreaker(settings.llm_failures_to_open,
                                             settings.llm_cooldown_s))


def refusal_policy(settings: Settings) -> RefusalPolicy:
    return RefusalPolicy(settings.refusal_threshold, settings.refusal_dense_weight,
                         settings.refusal_dense_center)


class IndexHolder:
    """Serves the CURRENT index version; checks the pointer at most every half second.

    A request that finds the pointer moved starts loading the new version in a
    background thread and goes on with the version it has: the new one is loaded and
    warmed beside the old, then swapped in with one assignment, so no request waits for
    a load and requests in flight finish on the version they started with.
    """

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.query_vectors = QueryVectors(embedder, settings.query_cache_size,
                                          settings.embed_queue_max)
        self.llm = llm_client(settings)  # shared by every index version: one pool, one breaker
        self.rewriter = FollowupRewriter(self.llm)
        self._snapshot: Snapshot | None = None
        self._checked = 0.0
        self._lock = threading.Lock()  # one load at a time
        self._loader_lock = threading.Lock()  # guards _loader, never held during a load
        self._loader: threading.Thread | None = None
        self._failed: str | None = None  # a version that failed to load: not retried by requests
        self.last_error: str | None = None

    def snapshot(self) -> Snapshot:
        if time.monotonic() - self._checked >= CHECK_INTERVAL_S:
            self._checked = time.monotonic()
            if self._current_version() not in (self._served_version(),
                                                                self._failed):
                self._load_in_background()
        if self._snapshot is None:
            raise NotReady(self.last_error or "the index is not loaded yet; try again shortly")
        return self._snapshot

    def refresh(self) -> None:
        """Load the version CURRENT names if it differs from the one served; wait for it."""
        with self._lock:
            self._checked = time.monotonic()
            try:
                version = current_version(self.settings)
            except ServiceError as exc:  # the Milvus store cannot be asked: say why
                self.last_error = exc.message
                return
            if version is None:
                self.last_error = "no index yet; run `policybot reindex`"
                return
            if version == self._served_version():  # back on the served one: old news
                self.last_error, self._failed = None, None
                return
            try:
                self._snapshot = self._load(version)
                self.last_error, self._failed = None, None
            except Exception as exc:  # a bad version must not stop serving the good one
                self.last_error, self._failed = _load_error(version, exc), version

    @property
    def ready(self) -> bool:
        return self._snapshot is not None

    def _current_version(self) -> str | None:
        """CURRENT's version (or the Milvus alias's); None, with the reason kept, when the
        store cannot be asked (Milvus down): the served version goes on."""
        try:
            return current_version(self.settings)
        except ServiceError as exc:
            self.last_error = exc.message
            return self._served_version()

    def _served_version(self) -> str | None:
        return self._snapshot.version if self._snapshot else None

    def _load_in_background(self) -> None:
        with self._loader_lock:
            if self._loader is not None and self._loader.is_alive():
                return
            self._loader = threading.Thread(target=self.refresh, name="index-loader",
                                            daemon=True)
            self._loader.start()

    def _load(self, version: str) -> Snapshot:
        index = load_version(self.settings, version, self.embedder.name)
        statuses = Statuses(index, self.settings.status_date)
        matcher = PolicyMatcher(index)
        everything = self._snapshot_over(version, index, matcher, statuses)
        snapshot = self._snapshot_over(version, in_force(index, statuses),
                                       in_force_matcher(matcher, statuses), statuses, everything)
        warm(snapshot)
        return snapshot

    def _snapshot_over(self, version: str, index: LoadedIndex, matcher: PolicyMatcher,
                       statuses: Statuses, everything: Snapshot | None = None) -> Snapshot:
        retriever = Retriever(index, self.query_vectors, self.settings)
        answerer = ExtractiveAnswerer(retriever, refusal_policy(self.settings),
                                      self.settings.answer_max_chars)
        profile_answerer = ProfileAwareAnswerer(answerer, matcher)
        generative = None
        if self.llm is not None:
            generative = GenerativeAnswerer(answerer, self.llm,
                                            SentenceVerifier(self.settings.verify_coverage),
                                            describe=source_lines(statuses))
        whole = everything.retriever if everything is not None else retriever
        conversation = Conversation(profile_answerer, self.rewriter, generative,
                                    StatusAnswerer(statuses, whole))
        return Snapshot(version, retriever, profile_answerer, matcher, conversation, statuses,
                        everything)


def source_lines(statuses: Statuses) -> Callable[[str], str]:
    """Document id -> its issuer, number, dates and status in one line, for the LLM; ""
    for a notice of which nothing is known (the seed reports: no line, no tokens)."""
    def line(document_id: str) -> str:
        status = statuses.by_document().get(document_id)
        if status is None or (status.status == "unknown"
                              and not (status.facts.agency or status.facts.doc_number)):
            return ""
        return status.line()
    return line


def _load_error(version: str, exc: Exception) -> str:
    if isinstance(exc, ServiceError):
        return exc.message
    log.exception("index version %s could not be loaded", version)
    return (f"index version {version} could not be loaded ({type(exc).__name__}: {exc}); "
            "run `policybot reindex` to build a new one")


def warm(snapshot: Snapshot) -> None:
    """Do once at load what the first question would otherwise pay for (jieba's
    dictionaries, the model's first call), and start building the policy cards of this
    version in the background (about 1 s per 10k passages; a match request waits for them)."""
    snapshot.answerer.answer(WARM_QUESTION)
    threading.Thread(target=lambda: snapshot.matcher.cards, name="policy-cards",
                     daemon=True).start()
