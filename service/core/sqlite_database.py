"""One SQLite file whose folder and tables appear on first use (the default database).

Each transaction opens its own connection, so a store built on it is safe to share
between request threads and between workers.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from service.core.sql import Dialect, Schema, Transaction

BUSY_TIMEOUT_S = 10


class SQLiteDatabase:
    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, schema: Schema) -> None:
        self.path = path
        self.label = str(path)
        self._statements = schema.statements("sqlite")
        self._ready = False
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with closing(self.connect()) as connection, connection:
            yield Transaction(connection, self.dialect)

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
                for statement in self._statements:
                    connection.execute(statement)
            self._ready = True
