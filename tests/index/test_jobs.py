"""Reindex jobs: a job whose process died is reported as interrupted; embedding progress."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from service.core.settings import Settings
from service.core.sql import DatabaseUnavailable
from service.index.build import build_version
from service.index.build_lock import build_lock
from service.index.job_records import process_identity
from service.index.jobs import Job, ReindexJobs
from service.ingest.corpus import load_corpus
from tests.conftest import SEED_CORPUS, make_settings


def dead_process_identity() -> str:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    identity = process_identity(child.pid)
    child.kill()
    child.wait()
    return identity


def write_job(settings: Settings, job: Job) -> None:
    folder = settings.data_dir / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{job.id}.json").write_text(json.dumps(asdict(job)), "utf-8")


def test_a_running_job_whose_process_died_is_reported_interrupted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_job(settings, Job(id="stale1", stage="embedded", done=120, total=590,
                            owner=dead_process_identity()))
    write_job(settings, Job(id="old2", stage="chunked", done=590, total=590))  # no owner saved
    write_job(settings, Job(id="live3", stage="embedded", done=5, total=9,
                            owner=process_identity()))

    jobs = ReindexJobs(settings)
    stale, old, live = jobs.get("stale1"), jobs.get("old2"), jobs.get("live3")

    assert stale.status == "failed" and stale.error is not None
    assert stale.error.startswith("interrupted") and "'embedded' stage (120/590)" in stale.error
    assert old.status == "failed" and old.error is not None and "interrupted" in old.error
    assert live.status == "running" and live.error is None


class FixedEmbedder:
    """A deterministic stand-in (no model): only the progress reports are under test."""

    name, dim, query_lanes = "fixed-test", 8, None

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), self.dim), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.ones(self.dim, dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed_passages(texts)


def test_progress_reports_embedding_as_it_goes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, embed_batch_size=4)
    reports: list[tuple[str, int, int]] = []

    result = build_version(settings, FixedEmbedder(), load_corpus(SEED_CORPUS), progress=False,
                           on_progress=lambda *report: reports.append(report))

    total = result.passages
    embedded = [done for stage, done, _ in reports if stage == "embedded"]
    assert reports[0] == ("chunked", total, total) and reports[-1] == ("published", total, total)
    assert embedded[0] == 0 and embedded[-1] == total
    assert embedded == sorted(embedded) and len(embedded) > 3  # n/total while it embeds


def test_a_job_that_cannot_be_recorded_is_refused_and_frees_the_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path)
    jobs = ReindexJobs(settings)

    def unreachable(state: object) -> None:
        raise DatabaseUnavailable("cannot reach the database (test)")

    monkeypatch.setattr(jobs.records, "save", unreachable)
    with pytest.raises(DatabaseUnavailable):
        jobs.start(FixedEmbedder(), lambda: None)
    with build_lock(settings):  # not left held: this would be a 409
        pass
    assert jobs.recent() == []
