"""One build at a time: reindexes, uploads, deletes, backups and rollbacks take this lock.

With the SQLite default it is a file lock on ``<index>/.lock``: one build per index folder
on this machine. With POLICYBOT_DATABASE_URL it is a PostgreSQL advisory lock instead, held
on a connection of its own for the build: one build at a time across every node sharing the
database, released by the server when the holder's connection closes, even if the process
was killed. A second build gets 409 (or waits, with ``wait``).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service.core.database import shared_database
from service.core.errors import Conflict
from service.core.settings import Settings

BUILD_LOCK = "policybot build"


@contextmanager
def build_lock(settings: Settings, wait: bool = False) -> Iterator[None]:
    database = shared_database(settings)
    if database is None:
        with _file_lock(settings.index_dir, wait):
            yield
        return
    with database.advisory_lock(BUILD_LOCK, wait) as held:
        if not held:
            raise Conflict("a reindex is already running on a node sharing the database "
                           f"{database.label}; wait for it to finish and try again")
        yield


@contextmanager
def _file_lock(index_dir: Path, wait: bool) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise Conflict("a reindex is already running for this index; wait for it to "
                           "finish and try again") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
