"""POLICYBOT_DATABASE_URL: validated with an example, its password never printed, an
unreachable database named in a 503; the advisory lock against a real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from pydantic import ValidationError

from service.core.database import open_database
from service.core.postgres import PostgresDatabase, redact_url
from service.core.settings import Settings, describe_settings_error
from service.core.sql import DatabaseUnavailable, Schema
from service.core.sqlite_database import SQLiteDatabase
from tests.servers import free_port

NO_TABLES = Schema(sqlite=(), postgresql=())


@pytest.mark.parametrize("url", ["mysql://u:hunter2@db/policybot", "sqlite:///data/x.sqlite",
                                 "db.example:5432", "postgresql://"])
def test_a_url_that_is_not_postgresql_is_refused_with_an_example(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(database_url=url)
    message = describe_settings_error(caught.value)
    assert message.startswith("POLICYBOT_DATABASE_URL=")
    assert "postgresql://policybot:secret@db.example:5432/policybot" in message
    assert "hunter2" not in message


def test_no_url_keeps_the_sqlite_files_in_the_data_folder(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    database = open_database(settings, "feedback.sqlite", NO_TABLES)
    assert isinstance(database, SQLiteDatabase)
    assert database.path == tmp_path / "data" / "feedback.sqlite"


def test_the_password_is_left_out_of_messages() -> None:
    assert redact_url("postgresql://bot:s3cret@db:5432/policybot") == \
        "postgresql://bot:***@db:5432/policybot"
    assert "s3cret" not in redact_url("postgresql://db/policybot?user=bot&password=s3cret")


def test_an_unreachable_database_is_a_503_naming_it_without_its_password() -> None:
    database = PostgresDatabase(f"postgresql://bot:s3cret@127.0.0.1:{free_port()}/policybot")
    with pytest.raises(DatabaseUnavailable) as caught:
        database.check()
    assert caught.value.status == 503
    assert "postgresql://bot:***@127.0.0.1:" in caught.value.message
    assert "POLICYBOT_DATABASE_URL" in caught.value.message and "s3cret" not in caught.value.message


def test_one_session_holds_the_lock_and_another_is_refused(postgres_url: str) -> None:
    database = PostgresDatabase(postgres_url)
    with database.advisory_lock("build", wait=False) as first:
        with database.advisory_lock("build", wait=False) as second:
            assert (first, second) == (True, False)
        with database.advisory_lock("other", wait=False) as other:
            assert other
    with database.advisory_lock("build", wait=False) as again:
        assert again  # released with its connection


def test_a_released_lock_can_be_taken_again_at_once(postgres_url: str) -> None:
    """Released in the session, not left to the server process ending after the close."""
    database = PostgresDatabase(postgres_url)
    for _ in range(300):
        with database.advisory_lock("build", wait=False) as held:
            assert held


HOLD = """
import sys, time
from service.core.postgres import PostgresDatabase
with PostgresDatabase(sys.argv[1]).advisory_lock("build", wait=False) as held:
    print("held" if held else "refused", flush=True)
    time.sleep(60)
"""


def test_the_lock_of_a_killed_process_is_released(postgres_url: str) -> None:
    database = PostgresDatabase(postgres_url)
    with subprocess.Popen([sys.executable, "-c", HOLD, postgres_url], stdout=subprocess.PIPE,
                          text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            with database.advisory_lock("build", wait=False) as held:
                assert not held
        finally:
            holder.kill()  # SIGKILL: no cleanup runs in the holder
    assert _lock_comes_free(database, seconds=10)


def _lock_comes_free(database: PostgresDatabase, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with database.advisory_lock("build", wait=False) as held:
            if held:
                return True
        time.sleep(0.1)
    return False


def test_two_processes_creating_the_tables_at_once_both_succeed(postgres_url: str) -> None:
    code = ("import sys; from service.storage.feedback import FeedbackStore, SCHEMA; "
            "from service.core.postgres import PostgresDatabase; "
            "print(FeedbackStore(PostgresDatabase(sys.argv[1], SCHEMA)).count())")
    starts = [subprocess.Popen([sys.executable, "-c", code, postgres_url],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(4)]
    outcomes = [start.communicate(timeout=60) for start in starts]
    assert [(start.returncode, out.strip()) for start, (out, _) in zip(starts, outcomes, strict=True)] == \
        [(0, "0")] * 4, [err for _, err in outcomes]
