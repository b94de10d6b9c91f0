"""One SQLite file whose folder and tables appear on first use.

Each call opens its own connection (callers close it with ``contextlib.closing``), so a
store built on it is safe to share between request threads and between workers.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

BUSY_TIMEOUT_S = 10


class SQLiteFile:
    def __init__(self, path: Path, schema: tuple[str, ...]) -> None:
        self.path = path
        self._schema = schema
        self._ready = False
        self._lock = threading.Lock()

    def connect(self) -> sqlite3.Connection:
        if not self._ready:
            self._create()
        return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)

    def _create(self) -> None:
        with self._lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)) as connection, \
                    connection:
                for statement in self._schema:
                    connection.execute(statement)
            self._ready = True
