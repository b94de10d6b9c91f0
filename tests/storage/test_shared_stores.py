"""Feedback and the unanswered-question log on a real PostgreSQL: the same answers as on
SQLite, and two nodes (two stores on one database) see each other's rows."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from service.core.errors import StorageFull
from service.core.postgres import PostgresDatabase
from service.core.settings import Settings
from service.storage import feedback, questions
from service.storage.feedback import Feedback, FeedbackStore
from service.storage.questions import QuestionLog

RATING = Feedback(question="研发补贴怎么申请？", answer="向科技局申报。[1]",
                  passage_ids=("p#1", "p#2"), helpful=True, comment="清楚")


def node(url: str, tmp_path: Path, name: str) -> Settings:
    return Settings(data_dir=tmp_path / name / "data", database_url=url)


def test_feedback_written_on_one_node_is_read_on_the_other(postgres_url: str,
                                                            tmp_path: Path) -> None:
    node_a = FeedbackStore.from_settings(node(postgres_url, tmp_path, "a"))
    node_b = FeedbackStore.from_settings(node(postgres_url, tmp_path, "b"))
    first = node_a.add(RATING)
    second = node_b.add(Feedback(question="人才公寓？", answer="未找到。", passage_ids=(),
                                 helpful=False))
    assert second > first
    assert [f.question for f in node_a.recent(None)] == ["人才公寓？", "研发补贴怎么申请？"]
    kept = node_b.recent(1, offset=1)[0]
    assert (kept.id, kept.passage_ids, kept.helpful, kept.comment) == \
        (first, ("p#1", "p#2"), True, "清楚")
    assert (node_b.count(), node_b.count(helpful=False)) == (2, 1)
    assert [f.id for f in node_a.recent(5, helpful=False)] == [second]
    assert not (tmp_path / "a" / "data").exists()  # no SQLite file beside the database


def test_the_row_cap_holds_across_nodes(postgres_url: str) -> None:
    database = PostgresDatabase(postgres_url, feedback.SCHEMA)
    node_a, node_b = FeedbackStore(database, max_rows=2), FeedbackStore(database, max_rows=2)
    node_a.add(RATING)
    node_b.add(RATING)
    with pytest.raises(StorageFull):
        node_a.add(RATING)
    assert node_b.count() == 2


def _log_questions(log: QuestionLog, now: float) -> None:
    log.record("研发补贴怎么申请？", at=now - 300)
    log.record("人才公寓在哪里", at=now - 200)
    log.record(" 研发补贴怎么申请 ", at=now - 100)
    log.record("很久以前的问题", at=now - 400 * 86400)  # pruned


def test_unanswered_questions_group_alike_on_postgresql_and_sqlite(postgres_url: str,
                                                                    tmp_path: Path) -> None:
    now = time.time()
    on_postgres = QuestionLog(PostgresDatabase(postgres_url, questions.SCHEMA), keep_days=180)
    on_sqlite = QuestionLog(tmp_path / "unanswered.sqlite", keep_days=180)
    for log in (on_postgres, on_sqlite):
        _log_questions(log, now)
    assert on_postgres.grouped() == on_sqlite.grouped()
    assert [(g.question, g.count) for g in on_postgres.grouped()] == \
        [("研发补贴怎么申请", 2), ("人才公寓在哪里", 1)]
    assert on_postgres.grouped(limit=1, offset=1) == on_sqlite.grouped(limit=1, offset=1)
    assert on_postgres.count_groups() == 2


def test_a_question_refused_on_one_node_is_listed_on_the_other(postgres_url: str,
                                                               tmp_path: Path) -> None:
    node_a = QuestionLog.from_settings(node(postgres_url, tmp_path, "a"))
    node_b = QuestionLog.from_settings(node(postgres_url, tmp_path, "b"))
    node_a.record("外资企业能申请吗？")
    assert [g.question for g in node_b.grouped()] == ["外资企业能申请吗？"]
