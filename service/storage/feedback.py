"""Users' thumbs up / down on answers, kept in a small SQLite database.

Each call opens its own connection (closed with ``contextlib.closing``), so the store is
safe to share between the threads that serve requests. The table is created on first use.
"""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from service.core.errors import StorageFull
from service.storage.sqlite_file import SQLiteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    passage_ids TEXT NOT NULL,
    helpful INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    comment TEXT NOT NULL DEFAULT ''
)
"""
COLUMNS = "id, created, question, answer, passage_ids, helpful, comment"


@dataclass(frozen=True)
class Feedback:
    """One judgement of one answer; ``id`` and ``created`` are set by the store."""

    question: str
    answer: str
    passage_ids: tuple[str, ...]
    helpful: bool
    comment: str = ""
    id: int | None = None
    created: str = ""


class FeedbackStore:
    """Feedback rows in the SQLite file ``path``; folder and table appear on first use."""

    def __init__(self, path: Path, max_rows: int = 0) -> None:
        self.path = path
        self.max_rows = max_rows  # 0: no cap
        self._file = SQLiteFile(path, (SCHEMA,))

    def add(self, feedback: Feedback) -> int:
        """Store ``feedback`` and return its id; StorageFull once ``max_rows`` are kept (the
        count and the insert are one statement, so workers cannot overshoot together)."""
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        row = (created, feedback.question, feedback.answer,
               json.dumps(list(feedback.passage_ids), ensure_ascii=False),
               int(feedback.helpful), feedback.comment)
        with closing(self._file.connect()) as connection, connection:
            cursor = connection.execute(
                "INSERT INTO feedback (created, question, answer, passage_ids, helpful, comment)"
                " SELECT ?, ?, ?, ?, ?, ? WHERE ? = 0 OR (SELECT COUNT(*) FROM feedback) < ?",
                (*row, self.max_rows, self.max_rows))
            if cursor.rowcount == 0:
                raise StorageFull(
                    f"feedback storage is full ({self.max_rows} rows, "
                    "POLICYBOT_FEEDBACK_MAX_ROWS); thank you, please tell the staff another way")
            return int(cursor.lastrowid or 0)

    def count(self, helpful: bool | None = None) -> int:
        where, values = _only(helpful)
        with closing(self._file.connect()) as connection:
            return int(connection.execute(f"SELECT COUNT(*) FROM feedback{where}",
                                          values).fetchone()[0])

    def recent(self, limit: int | None, offset: int = 0,
               helpful: bool | None = None) -> list[Feedback]:
        """Newest first; ``limit=None`` for all; ``helpful`` keeps only thumbs up or down."""
        if (limit is not None and limit < 1) or offset < 0:
            raise ValueError(f"need limit >= 1 and offset >= 0, got {limit=} {offset=}")
        where, values = _only(helpful)
        with closing(self._file.connect()) as connection:
            rows = connection.execute(
                f"SELECT {COLUMNS} FROM feedback{where} ORDER BY id DESC LIMIT ? OFFSET ?",
                (*values, -1 if limit is None else limit, offset)).fetchall()
        return [_from_row(row) for row in rows]


def _only(helpful: bool | None) -> tuple[str, tuple[int, ...]]:
    return ("", ()) if helpful is None else (" WHERE helpful = ?", (int(helpful),))


def _from_row(row: tuple[Any, ...]) -> Feedback:
    row_id, created, question, answer, passage_ids, helpful, comment = row
    return Feedback(question=question, answer=answer, passage_ids=tuple(json.loads(passage_ids)),
                    helpful=bool(helpful), comment=comment, id=row_id, created=created)
