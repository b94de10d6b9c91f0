"""Backup, restore, index versions and rollback over a real index (CLI and library)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from service.cli.main import main
from service.core.errors import BadRequest, Conflict, NotFound
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.index.build import reindex
from service.index.library import DocumentMeta, add_text, indexed_documents
from service.index.store import current_version
from service.storage.backup import backup, index_versions, restore, rollback
from service.storage.feedback import Feedback, FeedbackStore
from service.storage.questions import QuestionLog
from tests.conftest import make_settings
from tests.filemakers import POLICY_PARAGRAPHS, POLICY_TITLE


def feedback_rows(settings: Settings) -> list[Feedback]:
    return FeedbackStore(settings.data_dir / "feedback.sqlite").recent(None)


def with_data(settings: Settings, embedder: Embedder) -> None:
    (settings.data_dir / "unanswered.sqlite").unlink(missing_ok=True)
    add_text(settings, embedder, "\n\n".join(POLICY_PARAGRAPHS), DocumentMeta(title=POLICY_TITLE))
    store = FeedbackStore(settings.data_dir / "feedback.sqlite")
    store.add(Feedback("泉惠企是什么？", "……[1]", ("jinan-hitech-2023-q3#11",), True))
    store.add(Feedback("人才公寓在哪？", "没有找到", (), False, "请补充"))
    QuestionLog(settings.data_dir / "unanswered.sqlite", 180).record("上海的补贴有哪些？")


def test_backup_then_restore_into_empty_folders(settings: Settings, embedder: Embedder,
                                                tmp_path: Path) -> None:
    with_data(settings, embedder)
    manifest = backup(settings, tmp_path / "backup")
    assert manifest["index_version"] == current_version(settings.index_dir)
    assert sorted(manifest["databases"]) == ["embedding_cache.sqlite", "feedback.sqlite",
                                             "unanswered.sqlite"]
    assert any(name.startswith("uploads/") for name in manifest["files"])
    restored = make_settings(tmp_path / "restored")
    restore(restored, tmp_path / "backup")
    assert current_version(restored.index_dir) == manifest["index_version"]
    assert indexed_documents(restored) == indexed_documents(settings)
    assert feedback_rows(restored) == feedback_rows(settings)
    assert [g.question for g in QuestionLog(restored.data_dir / "unanswered.sqlite",
                                            180).grouped()] == ["上海的补贴有哪些？"]
    uploads = sorted(p.name for p in (restored.corpus_dir / "uploads").iterdir())
    assert uploads == sorted(p.name for p in (settings.corpus_dir / "uploads").iterdir())


def test_restore_refuses_to_overwrite_unless_forced(settings: Settings, embedder: Embedder,
                                                    tmp_path: Path) -> None:
    with_data(settings, embedder)
    backup(settings, tmp_path / "backup")
    FeedbackStore(settings.data_dir / "feedback.sqlite").add(
        Feedback("备份之后", "答", (), True))
    with pytest.raises(Conflict, match="--force"):
        restore(settings, tmp_path / "backup")
    assert len(feedback_rows(settings)) == 3
    restore(settings, tmp_path / "backup", force=True)
    assert [f.question for f in feedback_rows(settings)] == ["人才公寓在哪？", "泉惠企是什么？"]


def test_a_damaged_backup_is_refused(settings: Settings, tmp_path: Path) -> None:
    backup(settings, tmp_path / "backup")
    [passages] = (tmp_path / "backup" / "index" / "versions").glob("*/passages.jsonl")
    passages.write_text(passages.read_text("utf-8") + "\n", "utf-8")
    with pytest.raises(BadRequest, match="passages.jsonl is missing or changed"):
        restore(make_settings(tmp_path / "restored"), tmp_path / "backup")
    with pytest.raises(NotFound, match="no manifest.json"):
        restore(settings, tmp_path)


def test_backup_needs_an_empty_folder(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(Conflict, match="not empty"):
        backup(settings, tmp_path / "full")


def test_backup_skips_files_that_are_not_sqlite(settings: Settings, tmp_path: Path) -> None:
    (settings.data_dir / "metrics").mkdir()
    (settings.data_dir / "metrics" / "counter_1.db").write_bytes(b"\0" * 64)
    (settings.data_dir / "notes.db").write_text("not a database")
    manifest = backup(settings, tmp_path / "backup")
    assert "notes.db" not in manifest["databases"]
    assert not any("metrics" in name for name in manifest["files"])


def test_versions_and_rollback(settings: Settings, embedder: Embedder,
                               capsys: pytest.CaptureFixture[str]) -> None:
    first = current_version(settings.index_dir)
    with_data(settings, embedder)  # an upload: a second version
    second = current_version(settings.index_dir)
    assert [v.version for v in index_versions(settings)] == [first, second]
    assert rollback(settings) == first
    assert current_version(settings.index_dir) == first
    assert POLICY_TITLE not in json.dumps(indexed_documents(settings), ensure_ascii=False)
    assert rollback(settings, second) == second
    with pytest.raises(NotFound, match="no index version 'nope'"):
        rollback(settings, "nope")
    rollback(settings, first)
    with pytest.raises(NotFound, match="no index version older"):
        rollback(settings)


def test_cli_backup_restore_versions_rollback(settings: Settings, embedder: Embedder,
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    for field, value in (("CORPUS_DIR", settings.corpus_dir), ("INDEX_DIR", settings.index_dir),
                         ("DATA_DIR", settings.data_dir)):
        monkeypatch.setenv(f"POLICYBOT_{field}", str(value))
    reindex(settings, embedder, progress=False)  # a second version
    assert main(["versions"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[1].startswith("* ") and listing[2].startswith("  ")
    assert main(["rollback"]) == 0
    assert main(["backup", str(tmp_path / "b")]) == 0
    assert "databases embedding_cache.sqlite" in capsys.readouterr().out
    assert main(["restore", str(tmp_path / "b")]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["restore", "--force", str(tmp_path / "b")]) == 0
    with sqlite3.connect(settings.data_dir / "embedding_cache.sqlite") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
