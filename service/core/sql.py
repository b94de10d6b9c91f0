"""What every store writes its SQL against, whichever database holds it.

A store gives a ``Schema`` (its tables in each dialect) and runs its statements in a
``Transaction``: ``execute`` takes ``?`` placeholders in both dialects (PostgreSQL's ``%s``
is swapped in), the block commits at its end and rolls back if it raises.
``open_database`` (database.py) picks the dialect from the settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from service.core.errors import ServiceError

Dialect = Literal["sqlite", "postgresql"]


class DatabaseUnavailable(ServiceError):
    """The configured database cannot be reached (or went away mid-request)."""

    status = 503


@dataclass(frozen=True)
class Schema:
    """A store's tables: statements run once per process before its first query, each
    idempotent (``CREATE ... IF NOT EXISTS``)."""

    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgresql


class Transaction:
    """One connection for one block of statements."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run ``sql`` (``?`` placeholders); the DB-API cursor, for ``fetchone``/``fetchall``
        and ``rowcount``."""
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        return self.connection.execute(sql, tuple(params))

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        self.connection.cursor().executemany(sql, [tuple(row) for row in rows])

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an ``INSERT`` into a table with an ``id`` column: the new id, or None when
        the statement inserted nothing (an ``INSERT ... SELECT ... WHERE`` that failed)."""
        if self.dialect == "postgresql":
            row = self.execute(sql + " RETURNING id", params).fetchone()
            return None if row is None else int(row[0])
        cursor = self.execute(sql, params)
        return int(cursor.lastrowid) if cursor.rowcount else None

    def limit(self, limit: int | None) -> int | None:
        """The ``LIMIT ?`` value for ``limit`` rows, or for all of them when None."""
        if limit is not None:
            return limit
        return -1 if self.dialect == "sqlite" else None


class Database(Protocol):
    dialect: Dialect
    label: str  # for messages: the SQLite path, or the URL without its password

    def transaction(self) -> AbstractContextManager[Transaction]: ...
