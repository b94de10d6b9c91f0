"""Which database a store uses: POLICYBOT_DATABASE_URL, or SQLite files under data_dir.

Empty (the default): each store keeps its own SQLite file under data_dir, as it always
has (``feedback.sqlite``, ``unanswered.sqlite``; reindex jobs stay JSON files and the build
lock a file lock). ``postgresql://…``: every store shares that database, so nodes that
share it see each other's feedback, unanswered questions, reindex jobs and uploads, and one
reindex runs at a time across all of them.

Why psycopg 3 and not SQLAlchemy Core: a few small tables and a dozen statements whose
dialects differ in a handful of places (id columns, upserts, advisory locks). Plain SQL
with a placeholder swap (sql.py) keeps them readable; SQLAlchemy would add a large
dependency, its own pooling and transaction rules, for nothing these stores need. psycopg
is one driver in the ``[postgres]`` extra, imported only when the URL asks for it, and
SQLite stays on the standard library.
"""

from __future__ import annotations

from service.core.postgres import PostgresDatabase
from service.core.settings import Settings
from service.core.sql import Database, Schema
from service.core.sqlite_database import SQLiteDatabase


def database_url(settings: Settings) -> str:
    """The PostgreSQL URL, or "" for the SQLite default."""
    return settings.database_url.get_secret_value()


def open_database(settings: Settings, sqlite_name: str, schema: Schema) -> Database:
    """The shared PostgreSQL database if one is configured, else ``data_dir/<sqlite_name>``."""
    url = database_url(settings)
    if url:
        return PostgresDatabase(url, schema)
    return SQLiteDatabase(settings.data_dir / sqlite_name, schema)


def shared_database(settings: Settings, schema: Schema | None = None) -> PostgresDatabase | None:
    """The PostgreSQL database nodes share, or None with the SQLite default (state that
    only needs sharing between nodes, such as the uploads table, then has no database)."""
    url = database_url(settings)
    return PostgresDatabase(url, schema) if url else None
