"""Uploaded originals kept in the shared database, so that every node rebuilds from them.

Without POLICYBOT_DATABASE_URL nothing here runs: uploads live only in ``<corpus>/uploads/``.
With it, the ``uploads`` table holds every file of that folder (the originals and their
``.meta.yaml`` sidecars, so their metadata too), and a deleted file as a row without data, so
that a node which never saw the file still learns it was deleted. The bundled corpus files
are the same on every node; the uploads are what the nodes must agree on. Always under the
build lock:

- ``pull``, before every rebuild and before an upload or delete stages its change: writes
  each file of the table the folder lacks (or holds other bytes of) and removes each file the
  table says was deleted. Files the table never heard of are left alone (uploads from before
  the database was shared: ``policybot migrate-sqlite`` copies them in).
- ``push``, once an upload or delete has moved its files (before its rebuild, so a node that
  dies mid-build leaves the table saying what the next build must hold), and again if the
  change is undone: new and changed files are written, files gone from the folder marked
  deleted.

``revision`` rises with every change a push makes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from service.core.database import shared_database
from service.core.postgres import PostgresDatabase
from service.core.settings import Settings
from service.core.sql import Schema

UPLOADS = "uploads"
SCHEMA = Schema(sqlite=(), postgresql=(
    "CREATE SEQUENCE IF NOT EXISTS uploads_revision",
    """CREATE TABLE IF NOT EXISTS uploads (
        path TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        data BYTEA,
        revision BIGINT NOT NULL DEFAULT nextval('uploads_revision'),
        changed TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
))
UPSERT = ("INSERT INTO uploads (path, sha256, data) VALUES (?, ?, ?) ON CONFLICT (path) DO "
          "UPDATE SET sha256 = excluded.sha256, data = excluded.data, "
          "revision = nextval('uploads_revision'), changed = now()")
TOMBSTONE = ("UPDATE uploads SET sha256 = '', data = NULL, "
             "revision = nextval('uploads_revision'), changed = now() WHERE path = ?")


@dataclass(frozen=True)
class Synced:
    written: tuple[str, ...]  # paths below uploads/
    removed: tuple[str, ...]


class SharedUploads:
    def __init__(self, database: PostgresDatabase, corpus_dir: Path) -> None:
        self.database = database
        self.folder = corpus_dir / UPLOADS

    def pull(self) -> Synced:
        """Bring the uploads folder in line with the table (see the module docstring)."""
        local = local_files(self.folder)
        with self.database.transaction() as transaction:
            rows = transaction.execute("SELECT path, sha256, data IS NULL FROM uploads").fetchall()
            wanted = [path for path, sha256, deleted in rows
                      if not deleted and local.get(path) != sha256]
            contents = transaction.execute("SELECT path, data FROM uploads WHERE path = ANY(?)",
                                           (wanted,)).fetchall() if wanted else []
        for path, data in contents:
            _write(self._inside(path), bytes(data))
        removed = [path for path, _, deleted in rows if deleted and path in local]
        for path in removed:
            self._inside(path).unlink(missing_ok=True)
        return Synced(tuple(sorted(path for path, _ in contents)), tuple(sorted(removed)))

    def push(self) -> Synced:
        """Record the uploads folder in the table, in one transaction."""
        local = local_files(self.folder)
        with self.database.transaction() as transaction:
            rows = {path: (sha256, deleted) for path, sha256, deleted in transaction.execute(
                "SELECT path, sha256, data IS NULL FROM uploads").fetchall()}
            written = [path for path, sha256 in local.items() if rows.get(path) != (sha256, False)]
            for path in written:
                transaction.execute(UPSERT, (path, local[path],
                                             (self.folder / path).read_bytes()))
            removed = [path for path, (_, deleted) in rows.items()
                       if not deleted and path not in local]
            for path in removed:
                transaction.execute(TOMBSTONE, (path,))
        return Synced(tuple(sorted(written)), tuple(sorted(removed)))

    def adopt(self) -> Synced:
        """Copy in the files of the folder the table has never heard of (and nothing else:
        neither changes nor deletions), e.g. uploads from before the database was shared."""
        local = local_files(self.folder)
        with self.database.transaction() as transaction:
            known = {path for (path,) in transaction.execute("SELECT path FROM uploads")}
            new = [path for path in local if path not in known]
            for path in new:
                transaction.execute(UPSERT, (path, local[path], (self.folder / path).read_bytes()))
        return Synced(tuple(sorted(new)), ())

    def revision(self) -> int:
        """Rises with every change pushed (0 before the first)."""
        with self.database.transaction() as transaction:
            return int(transaction.execute(
                "SELECT COALESCE(MAX(revision), 0) FROM uploads").fetchone()[0])

    def _inside(self, path: str) -> Path:
        """``path`` of a row, refused unless it names a file below the uploads folder."""
        parts = PurePosixPath(path).parts
        if not parts or path.startswith("/") or any(p in ("..", ".") or p.startswith(".")
                                                    for p in parts):
            raise ValueError(f"uploads table row {path!r} is not a path below {UPLOADS}/")
        return self.folder.joinpath(*parts)


def shared_uploads_for(settings: Settings) -> SharedUploads | None:
    """The shared uploads with POLICYBOT_DATABASE_URL, else None (uploads stay local)."""
    database = shared_database(settings, SCHEMA)
    return None if database is None else SharedUploads(database, settings.corpus_dir)


def pull_uploads(settings: Settings) -> None:
    """Before a rebuild: this node's uploads folder as the shared table says (no-op without
    a shared database)."""
    shared = shared_uploads_for(settings)
    if shared is not None:
        shared.pull()


def local_files(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below ``folder`` by its posix path there (hidden ones skipped,
    as the corpus reader skips them)."""
    found = {}
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            found[relative.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.pull-{os.getpid()}")
    staged.write_bytes(data)
    os.replace(staged, target)
