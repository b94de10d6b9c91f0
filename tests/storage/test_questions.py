"""The unanswered-question log: grouping by normalised text, newest first, pruning, no IP."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from service.storage.questions import QuestionLog, question_key

DAY = 86400


@pytest.mark.parametrize(("first", "second"), [
    ("研发补贴怎么申请？", " 研发补贴怎么申请 "),
    ("研发补贴怎么申请？", "研发补贴怎么申请?"),  # full-width and ASCII question marks
    ("ＡＢＣ公司能申请吗", "abc公司能申请吗。"),  # NFKC and case
    ("人才  公寓\n在哪里", "人才 公寓 在哪里！！"),
])
def test_variants_of_one_question_share_a_key(first: str, second: str) -> None:
    assert question_key(first) == question_key(second)


def test_different_questions_keep_different_keys() -> None:
    assert question_key("人才公寓在哪里") != question_key("人才公寓多少钱")
    assert question_key("？？！") == ""


def test_groups_count_and_order_by_last_asked(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path / "q.sqlite", keep_days=180)
    now = time.time()
    log.record("研发补贴怎么申请？", at=now - 300)
    log.record("人才公寓在哪里", at=now - 200)
    log.record(" 研发补贴怎么申请 ", at=now - 100)
    groups = log.grouped()
    assert [(g.question, g.count) for g in groups] == [("研发补贴怎么申请", 2), ("人才公寓在哪里", 1)]
    assert groups[0].first_asked < groups[0].last_asked
    assert groups[0].last_asked.endswith("+00:00")
    assert log.count_groups() == 2
    assert [g.question for g in log.grouped(limit=1, offset=1)] == ["人才公寓在哪里"]


def test_entries_older_than_keep_days_are_dropped(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path / "q.sqlite", keep_days=30)
    now = time.time()
    log.record("很久以前的问题", at=now - 31 * DAY)
    log.record("最近的问题", at=now - 29 * DAY)
    assert [g.question for g in log.grouped()] == ["最近的问题"]
    with sqlite3.connect(tmp_path / "q.sqlite") as connection:
        assert connection.execute("SELECT COUNT(*) FROM unanswered").fetchone()[0] == 1


def test_only_question_and_time_are_stored(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path / "q.sqlite", keep_days=180)
    log.record("外资企业有什么补贴？")
    with sqlite3.connect(tmp_path / "q.sqlite") as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(unanswered)")]
    assert columns == ["id", "asked", "key", "question"]


def test_keep_days_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="keep_days must be at least 1, got 0"):
        QuestionLog(tmp_path / "q.sqlite", keep_days=0)
