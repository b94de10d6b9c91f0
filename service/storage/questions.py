"""Questions the service could not answer, kept so staff see which policy texts to add.

Only the question and the time are stored (no IP address, nothing about the asker), in a
small SQLite database. Questions are grouped by their normalised text (``question_key``):
NFKC, case folded, runs of whitespace made one space, whitespace and punctuation trimmed
at both ends, so "研发补贴？" and " 研发补贴 " count as one question. Entries older than
``keep_days`` are deleted whenever a question is recorded or the list is read.
"""

from __future__ import annotations

import re
import sqlite3
import time
import unicodedata
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from service.storage.sqlite_file import SQLiteFile

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS unanswered (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        asked REAL NOT NULL,
        key TEXT NOT NULL,
        question TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS unanswered_asked ON unanswered (asked)",
    "CREATE INDEX IF NOT EXISTS unanswered_key ON unanswered (key, asked)",
)
_SPACES = re.compile(r"\s+")


def question_key(question: str) -> str:
    """The text questions are grouped by (see the module docstring)."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", question).casefold())
    start, end = 0, len(text)
    while start < end and _trimmed(text[start]):
        start += 1
    while end > start and _trimmed(text[end - 1]):
        end -= 1
    return text[start:end]


def _trimmed(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")


@dataclass(frozen=True)
class UnansweredQuestion:
    """One group: the latest wording asked, how often, and when first and last (UTC)."""

    question: str
    count: int
    first_asked: str
    last_asked: str


class QuestionLog:
    """Refused questions in the SQLite file ``path``; folder and table appear on first use.

    Each call opens its own connection, so the log is safe to share between threads and
    between the workers of one server.
    """

    def __init__(self, path: Path, keep_days: int) -> None:
        if keep_days < 1:
            raise ValueError(f"keep_days must be at least 1, got {keep_days}")
        self.path = path
        self.keep_days = keep_days
        self._file = SQLiteFile(path, SCHEMA)

    def record(self, question: str, at: float | None = None) -> None:
        """Store one refused question (asked at ``at``, seconds since the epoch; now if None)."""
        key = question_key(question)
        if not key:
            return
        asked = time.time() if at is None else at
        with closing(self._file.connect()) as connection, connection:
            connection.execute("INSERT INTO unanswered (asked, key, question) VALUES (?, ?, ?)",
                               (asked, key, question.strip()))
            self._prune(connection)

    def grouped(self, limit: int | None = None, offset: int = 0) -> list[UnansweredQuestion]:
        """Groups, the most recently asked first."""
        if (limit is not None and limit < 1) or offset < 0:
            raise ValueError(f"need limit >= 1 and offset >= 0, got {limit=} {offset=}")
        with closing(self._file.connect()) as connection, connection:
            self._prune(connection)
            # SQLite takes the bare column `question` from the row holding MAX(asked).
            rows = connection.execute(
                "SELECT question, COUNT(*), MIN(asked), MAX(asked) FROM unanswered "
                "GROUP BY key ORDER BY MAX(asked) DESC, key LIMIT ? OFFSET ?",
                (-1 if limit is None else limit, offset)).fetchall()
        return [UnansweredQuestion(question, count, _iso(first), _iso(last))
                for question, count, first, last in rows]

    def count_groups(self) -> int:
        with closing(self._file.connect()) as connection:
            return int(connection.execute(
                "SELECT COUNT(DISTINCT key) FROM unanswered").fetchone()[0])

    def _prune(self, connection: sqlite3.Connection) -> None:
        oldest = time.time() - self.keep_days * 86400
        connection.execute("DELETE FROM unanswered WHERE asked < ?", (oldest,))


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")
