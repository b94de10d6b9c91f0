"""Every table of the shared database, created when a node starts.

With POLICYBOT_DATABASE_URL a node reaches the database and creates what is missing before
it serves (``policybot serve`` first, so that an unreachable database is one clear line,
not a stack trace; the app's lifespan again, for servers started another way). Nodes
starting together wait for each other (postgres.py). With the SQLite default nothing
happens at start: each file and its table appear on first use, as before.
"""

from __future__ import annotations

from service.core.database import database_url
from service.core.postgres import PostgresDatabase
from service.core.settings import Settings
from service.core.sql import Schema
from service.index import job_records, shared_uploads
from service.storage import feedback, questions

SCHEMAS: tuple[Schema, ...] = (feedback.SCHEMA, questions.SCHEMA, job_records.SCHEMA,
                               shared_uploads.SCHEMA)


def prepare_database(settings: Settings) -> str | None:
    """Create the shared database's tables; its URL without the password, or None when
    there is none. DatabaseUnavailable (503, naming it) if it cannot be reached."""
    url = database_url(settings)
    if not url:
        return None
    PostgresDatabase(url).check()
    for schema in SCHEMAS:
        PostgresDatabase(url, schema).create_tables()
    return PostgresDatabase(url).label
