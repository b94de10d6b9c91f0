"""Copy the state a node kept in files into the shared PostgreSQL database
(``policybot migrate-sqlite``), once, before nodes share it.

From the data folder (and the corpus folder) the settings name:

    data_dir/feedback.sqlite     -> feedback
    data_dir/unanswered.sqlite   -> unanswered (the log's own age limit still applies)
    data_dir/jobs/*.json         -> reindex_jobs (history; a job left "running" is over)
    corpus_dir/uploads/          -> uploads (files the database has not heard of)

Rerunning it copies nothing twice: each copied row carries an ``import_key`` (a hash of the
source row, its id included) that is unique in the table, jobs keep their ids and uploads
their paths. Nothing is deleted from the files; the SQLite files are read only.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.core.database import database_url
from service.core.errors import BadRequest
from service.core.postgres import PostgresDatabase
from service.core.settings import Settings
from service.core.sql import Schema
from service.index import job_records
from service.index.job_records import FileJobRecords
from service.index.shared_uploads import SharedUploads, local_files
from service.storage import feedback, questions
from service.storage.schema import prepare_database

BATCH = 1000
Report = Callable[["Copied"], None]


@dataclass(frozen=True)
class Copied:
    what: str  # "feedback", "unanswered", "reindex_jobs", "uploads"
    seen: int  # rows (files) read so far
    added: int  # of them, new in the database


@dataclass(frozen=True)
class Table:
    name: str
    sqlite_file: str
    columns: tuple[str, ...]  # copied as they are; ``id`` is left to the database
    schema: Schema


TABLES = (
    Table("feedback", feedback.SQLITE_FILE,
          ("created", "question", "answer", "passage_ids", "helpful", "comment"),
          feedback.SCHEMA),
    Table("unanswered", questions.SQLITE_FILE, ("asked", "key", "question"), questions.SCHEMA),
)


def migrate_sqlite(settings: Settings, report: Report = lambda copied: None) -> list[Copied]:
    """Copy the SQLite files, job files and uploads into POLICYBOT_DATABASE_URL."""
    url = database_url(settings)
    if not url:
        raise BadRequest("set POLICYBOT_DATABASE_URL to the PostgreSQL database to copy into, "
                         "e.g. postgresql://policybot:secret@db.example:5432/policybot")
    prepare_database(settings)
    done = [_copy_table(PostgresDatabase(url, table.schema),
                        settings.data_dir / table.sqlite_file, table, report)
            for table in TABLES]
    done.append(_copy_jobs(PostgresDatabase(url, job_records.SCHEMA), settings.data_dir / "jobs",
                           report))
    uploads = SharedUploads(PostgresDatabase(url), settings.corpus_dir)
    seen = len(local_files(uploads.folder))
    copied = Copied("uploads", seen, len(uploads.adopt().written))
    report(copied)
    done.append(copied)
    return done


def _copy_table(database: PostgresDatabase, source: Path, table: Table,
                report: Report) -> Copied:
    columns = ", ".join((*table.columns, "import_key"))
    marks = ", ".join("?" * (len(table.columns) + 1))
    insert = (f"INSERT INTO {table.name} ({columns}) VALUES ({marks}) "
              "ON CONFLICT (import_key) DO NOTHING")
    copied = Copied(table.name, 0, 0)
    for batch in _sqlite_rows(source, table):
        with database.transaction() as transaction:
            before = _count(transaction, table.name)
            transaction.execute_many(insert, [(*row[1:], _import_key(table.name, row))
                                              for row in batch])
            added = _count(transaction, table.name) - before
        copied = Copied(table.name, copied.seen + len(batch), copied.added + added)
        report(copied)
    if copied.seen == 0:
        report(copied)
    return copied


def _sqlite_rows(source: Path, table: Table) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of (id, *columns) in id order; none if the file or its table is missing."""
    if not source.is_file():
        return
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as connection:
        exists = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                    "AND name = ?", (table.name,)).fetchone()
        if not exists:
            return
        cursor = connection.execute(
            f"SELECT id, {', '.join(table.columns)} FROM {table.name} ORDER BY id")
        while batch := cursor.fetchmany(BATCH):
            yield batch


def _import_key(table: str, row: Sequence[Any]) -> str:
    return hashlib.sha256(json.dumps([table, *row], ensure_ascii=False).encode()).hexdigest()


def _count(transaction: Any, table: str) -> int:
    return int(transaction.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _copy_jobs(database: PostgresDatabase, folder: Path, report: Report) -> Copied:
    states = [state for state, _ in FileJobRecords(folder).recent(limit=1_000_000)]
    with database.transaction() as transaction:
        before = _count(transaction, "reindex_jobs")
        transaction.execute_many(  # a heartbeat at the epoch: a "running" one shows failed
            "INSERT INTO reindex_jobs (id, started, status, owner, state, heartbeat) "
            "VALUES (?, ?, ?, ?, ?, to_timestamp(0)) ON CONFLICT (id) DO NOTHING",
            [(s["id"], s.get("started", 0.0), s.get("status", "failed"), s.get("owner", ""),
              json.dumps(s)) for s in states])
        added = _count(transaction, "reindex_jobs") - before
    copied = Copied("reindex_jobs", len(states), added)
    report(copied)
    return copied
