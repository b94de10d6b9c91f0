"""PostgreSQL as the shared database of several nodes (POLICYBOT_DATABASE_URL=postgresql://…).

Every transaction opens its own connection (about 4 ms on one machine, see the README's
"Scaling out"), like the SQLite stores: nothing is kept between requests, nothing to
reopen after a fork or a database restart. A store's tables are created before its first
query, once per process, under a transaction-level advisory lock so that two nodes starting
together do not race on ``CREATE TABLE IF NOT EXISTS``.

``advisory_lock`` holds a session-level advisory lock on a connection of its own for as
long as the block runs: the lock that lets one reindex run at a time across nodes. If the
process dies (even by SIGKILL) its socket closes and the server releases the lock.

psycopg is imported only here, when the URL asks for PostgreSQL (extra ``[postgres]``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from service.core.sql import DatabaseUnavailable, Dialect, Schema, Transaction

SCHEMES = ("postgresql", "postgres")
EXAMPLE = "postgresql://policybot:secret@db.example:5432/policybot"
CONNECT_TIMEOUT_S = 5
SCHEMA_LOCK = "policybot schema"
# The server notices a node that vanished without closing its socket (power loss) after
# about idle + interval * count seconds; a SIGKILLed process closes it at once.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3}
_created: set[tuple[str, tuple[str, ...]]] = set()
_creating = threading.Lock()


def check_url(url: str) -> str:
    """``url`` if it is empty or a PostgreSQL URL, else ValueError with an example."""
    url = url.strip()
    if not url:
        return url
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not (parts.hostname or parts.path.strip("/")):
        raise ValueError(f"must be empty (SQLite files in data_dir) or a PostgreSQL URL such "
                         f"as {EXAMPLE}")
    return url


def redact_url(url: str) -> str:
    """``url`` without its password (in the authority or the query), for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = urlencode([(key, "***" if key == "password" else value)
                       for key, value in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def lock_key(name: str) -> int:
    """The 64-bit advisory lock key of ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class PostgresDatabase:
    dialect: Dialect = "postgresql"

    def __init__(self, url: str, schema: Schema | None = None) -> None:
        self.url = url
        self.label = redact_url(url)
        self._statements = schema.statements("postgresql") if schema else ()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        self.create_tables()
        with self._errors(), self.connect() as connection:  # commits, or rolls back
            yield Transaction(connection, self.dialect)

    def create_tables(self) -> None:
        """The schema, once per process (nodes starting together wait for each other)."""
        key = (self.url, self._statements)
        if not self._statements or key in _created:
            return
        with _creating:
            if key in _created:
                return
            with self._errors(), self.connect() as connection:
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(SCHEMA_LOCK),))
                for statement in self._statements:
                    connection.execute(statement)
            _created.add(key)

    def check(self) -> None:
        """DatabaseUnavailable, naming the URL without its password, if it is unreachable."""
        with self._errors(), self.connect() as connection:
            connection.execute("SELECT 1")

    @contextmanager
    def advisory_lock(self, name: str, wait: bool) -> Iterator[bool]:
        """Hold the session lock ``name`` for the block; yields False (holding nothing) if
        another session has it and ``wait`` is False."""
        with self._errors():
            connection = self.connect(autocommit=True, **KEEPALIVES)
        held = False
        try:
            with self._errors():
                if wait:
                    connection.execute("SELECT pg_advisory_lock(%s)", (lock_key(name),))
                    held = True
                else:
                    row = connection.execute("SELECT pg_try_advisory_lock(%s)",
                                             (lock_key(name),)).fetchone()
                    held = bool(row and row[0])
            yield held
        finally:
            _release(connection, lock_key(name) if held else None)

    def connect(self, **options: Any) -> Any:
        psycopg = _psycopg()
        if "connect_timeout" not in self.url:
            options.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        return psycopg.connect(self.url, **options)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """A lost or refused connection becomes a 503 that names the database."""
        psycopg = _psycopg()
        try:
            yield
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseUnavailable(
                f"cannot reach the database {self.label} (POLICYBOT_DATABASE_URL): {reason}; "
                "start it or fix the setting") from None


def _release(connection: Any, key: int | None) -> None:
    """Unlock at once (a closed session's locks are released only once its server process
    has ended, a moment after the close), then close."""
    try:
        if key is not None and not connection.closed:
            connection.execute("SELECT pg_advisory_unlock(%s)", (key,))
    except _psycopg().Error:
        pass  # the session is gone, and its lock with it
    finally:
        connection.close()


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise DatabaseUnavailable(
            "POLICYBOT_DATABASE_URL names a PostgreSQL database but psycopg is not "
            "installed: pip install 'policybot[postgres]'") from None
    return psycopg
