"""Prometheus metrics of the service; ``GET /metrics`` serves them (``exposition``).

Every stage records into the metrics defined here through a small function, so no module
needs to know about Prometheus. With ``PROMETHEUS_MULTIPROC_DIR`` set before this module
is imported (``policybot serve --workers N`` does it for N > 1) each worker writes its
values to files there and a scrape of any worker adds them all up.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
EMBED_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
OUTCOMES = ("answered", "refused", "error")
UNMATCHED_ROUTE = "unmatched"  # requests no route matched share one label (404 scans)

QUESTIONS = Counter("policybot_questions", "Questions to /api/v1/ask by outcome.", ["outcome"])
REQUESTS = Counter("policybot_requests", "HTTP requests by route template, method and status.",
                   ["route", "method", "status"])
REQUEST_SECONDS = Histogram("policybot_request_duration_seconds",
                            "HTTP request latency by route template and method.",
                            ["route", "method"], buckets=LATENCY_BUCKETS)
EMBED_SECONDS = Histogram("policybot_query_embedding_seconds",
                          "A question's embedding, or its wait for a free model lane.",
                          buckets=EMBED_BUCKETS)
INDEX_VERSION = Gauge("policybot_index_version_info",
                      "1 for the index version a worker serves (0 for ones it served before).",
                      ["version"], multiprocess_mode="livemostrecent")
INDEX_PASSAGES = Gauge("policybot_index_passages", "Passages in the served index version.",
                       multiprocess_mode="livemostrecent")
REINDEX_JOBS = Counter("policybot_reindex_jobs", "Background reindex jobs by outcome.",
                       ["outcome"])
FEEDBACK = Counter("policybot_feedback", "Feedback received by rating.", ["rating"])
RATE_LIMITED = Counter("policybot_rate_limited_requests",
                       "Requests refused by a rate limit, by route template.", ["route"])
_STAGES = {"embed": EMBED_SECONDS}
_served_version: list[str] = []


def count_question(outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    QUESTIONS.labels(outcome).inc()


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)


def observe_stage(name: str, seconds: float) -> None:
    """A timed stage of a request (``timing.stage``); only some stages have a histogram."""
    histogram = _STAGES.get(name)
    if histogram is not None:
        histogram.observe(seconds)


def count_reindex_job(outcome: str) -> None:
    REINDEX_JOBS.labels(outcome).inc()


def count_feedback(helpful: bool) -> None:
    FEEDBACK.labels("helpful" if helpful else "not_helpful").inc()


def count_rate_limited(route: str) -> None:
    """For the rate limiter: one request refused on ``route`` (its template, e.g.
    ``/api/v1/ask``, never the raw path)."""
    RATE_LIMITED.labels(route).inc()


def set_served_index(version: str, passages: int) -> None:
    """The index version this worker serves now and its size."""
    if _served_version and _served_version[0] == version:
        return
    if _served_version:
        INDEX_VERSION.labels(_served_version[0]).set(0)
    _served_version[:] = [version]
    INDEX_VERSION.labels(version).set(1)
    INDEX_PASSAGES.set(passages)


def exposition() -> tuple[bytes, str]:
    """The text format of every metric (of all workers in multiprocess mode) and its type."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
