"""`policybot migrate-sqlite`: today's SQLite files, job files and uploads copied into
PostgreSQL; a rerun copies nothing twice; the copies read back as the originals did."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from service.cli.main import main
from service.core.settings import Settings
from service.index.job_records import FileJobRecords
from service.index.jobs import Job, ReindexJobs
from service.index.shared_uploads import shared_uploads_for
from service.storage.feedback import Feedback, FeedbackStore
from service.storage.questions import QuestionLog
from tests.conftest import make_settings


def sqlite_era(root: Path) -> Settings:
    """A node's folders as they are before the database: SQLite files, job files, uploads."""
    settings = make_settings(root)
    store = FeedbackStore.from_settings(settings)
    for number in range(3):
        store.add(Feedback(question=f"问题{number}", answer="答案。[1]", passage_ids=("p#1",),
                           helpful=number % 2 == 0, comment="评论"))
    log = QuestionLog.from_settings(settings)
    now = time.time()
    log.record("深圳的房租补贴有多少？", at=now - 100)
    log.record("深圳的房租补贴有多少", at=now - 50)
    FileJobRecords(settings.data_dir / "jobs").save(asdict(Job(
        id="old1", status="running", stage="embedded", started=now - 900, owner="99999999:1")))
    uploads = settings.corpus_dir / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "policy.txt").write_text("旧政策全文。", "utf-8")
    (uploads / "policy.pdf.meta.yaml").write_text("title: 旧政策\n", "utf-8")
    return settings


def test_migration_copies_everything_once(tmp_path: Path, postgres_url: str,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    old = sqlite_era(tmp_path / "old")
    for name, value in (("DATA_DIR", old.data_dir), ("CORPUS_DIR", old.corpus_dir),
                        ("DATABASE_URL", postgres_url)):
        monkeypatch.setenv(f"POLICYBOT_{name}", str(value))

    assert main(["migrate-sqlite"]) == 0
    first = capsys.readouterr()
    assert main(["migrate-sqlite", "--data", str(old.data_dir)]) == 0
    second = capsys.readouterr()

    assert "feedback: 3 read, 3 copied, 0 already there" in first.err
    assert "unanswered: 2 read, 2 copied" in first.err and "uploads: 2 read, 2 copied" in first.err
    assert "feedback: 3 read, 0 copied, 3 already there" in second.err
    assert "reindex_jobs: 1 read, 0 copied" in second.err and "copied 0 rows" in second.out

    shared = make_settings(tmp_path / "new", database_url=postgres_url)
    ours, theirs = FeedbackStore.from_settings(shared), FeedbackStore.from_settings(old)
    assert _plain(ours.recent(None)) == _plain(theirs.recent(None))
    assert QuestionLog.from_settings(shared).grouped() == QuestionLog.from_settings(old).grouped()
    job = ReindexJobs(shared).get("old1")
    assert job.status == "failed" and job.error is not None and "interrupted" in job.error
    uploads = shared_uploads_for(shared)
    assert uploads is not None and uploads.pull().written == ("policy.pdf.meta.yaml",
                                                              "policy.txt")


def _plain(rows: list[Feedback]) -> list[str]:
    """The rows without their ids (the database numbers them itself)."""
    return [json.dumps({**asdict(row), "id": None}, ensure_ascii=False) for row in rows]


def test_migration_needs_a_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("POLICYBOT_DATABASE_URL", raising=False)
    assert main(["migrate-sqlite"]) == 1
    assert "set POLICYBOT_DATABASE_URL" in capsys.readouterr().err
