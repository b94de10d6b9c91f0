"""The served index: a new version loads in the background, warmed, while requests go on."""

from __future__ import annotations

import threading
import time

import pytest

from service.answering.serving import CHECK_INTERVAL_S, WARM_QUESTION, IndexHolder, Snapshot
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.index.build import reindex


def wait_for_version(holder: IndexHolder, version: str, timeout_s: float = 30) -> Snapshot:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        snapshot = holder.snapshot()
        if snapshot.version == version:
            return snapshot
        time.sleep(0.05)
    raise AssertionError(f"version {version} was not served within {timeout_s}s")


def serving_holder(settings: Settings, embedder: Embedder) -> tuple[IndexHolder, Snapshot]:
    holder = IndexHolder(settings, embedder)
    holder.refresh()
    return holder, holder.snapshot()


def test_a_request_never_waits_for_a_new_version_to_load(
    settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder, old = serving_holder(settings, embedder)
    release, real_load = threading.Event(), holder._load

    def slow_load(version: str) -> Snapshot:
        release.wait(timeout=30)
        return real_load(version)

    monkeypatch.setattr(holder, "_load", slow_load)
    new_version = reindex(settings, embedder, progress=False).version
    time.sleep(CHECK_INTERVAL_S)  # the next request checks CURRENT again

    started = time.monotonic()
    served = [holder.snapshot() for _ in range(20)]
    assert time.monotonic() - started < 1.0  # none of them waited for the load
    assert all(snapshot is old for snapshot in served)

    release.set()
    new = wait_for_version(holder, new_version)
    assert new.answerer.answer("企业在哪里可以查到惠企政策").found


def test_a_loaded_version_is_warm_before_it_is_served(settings: Settings,
                                                      embedder: Embedder) -> None:
    holder = IndexHolder(settings, embedder)
    holder.refresh()
    assert holder.query_vectors.misses == 1  # the warm-up question went through the model
    holder.snapshot().answerer.answer(WARM_QUESTION)
    assert holder.query_vectors.misses == 1
    matcher = holder.snapshot().matcher
    deadline = time.monotonic() + 30
    while matcher._cards is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the policy cards are built in the background after the load
    assert matcher._cards is not None


def test_a_version_that_fails_to_load_is_reported_and_not_retried_by_requests(
    settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder, old = serving_holder(settings, embedder)
    attempts, real_load = [], holder._load

    def load_a_corrupt_file(version: str) -> Snapshot:
        attempts.append(version)
        if version != old.version:
            raise RuntimeError("Error in faiss::read_index: unexpected end of file")
        return real_load(version)

    monkeypatch.setattr(holder, "_load", load_a_corrupt_file)
    broken = reindex(settings, embedder, progress=False).version
    deadline = time.monotonic() + 3 * CHECK_INTERVAL_S + 1
    while time.monotonic() < deadline:
        assert holder.snapshot() is old  # the good version keeps serving
        time.sleep(0.05)
    assert attempts == [broken]
    assert holder.last_error is not None and broken in holder.last_error
    assert "policybot reindex" in holder.last_error

    monkeypatch.setattr(holder, "_load", real_load)  # fixed; staff reindex again
    fixed = reindex(settings, embedder, progress=False).version
    assert wait_for_version(holder, fixed).version == fixed and holder.last_error is None
