"""Where reindex jobs' states are kept, so every worker (and every node) can report them.

Files, the default: ``data_dir/jobs/<id>.json``, each written atomically. A job's owner is
the ``pid:start`` of the process running it, alive while that process is.

PostgreSQL (POLICYBOT_DATABASE_URL): the ``reindex_jobs`` table, read by every node sharing
the database. A pid means nothing on another machine, so the node running a job beats: every
``HEARTBEAT_S`` it touches ``heartbeat`` on its running jobs (the database's clock, so the
nodes' clocks need not agree), and a running job whose heartbeat is older than ``LEASE_S``
has lost its owner (killed, or cut off from the database).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from service.core.database import shared_database
from service.core.postgres import PostgresDatabase
from service.core.settings import Settings
from service.core.sql import DatabaseUnavailable, Schema

HEARTBEAT_S = 5.0
LEASE_S = 30.0
SCHEMA = Schema(sqlite=(), postgresql=(
    """CREATE TABLE IF NOT EXISTS reindex_jobs (
        id TEXT PRIMARY KEY,
        started DOUBLE PRECISION NOT NULL,
        status TEXT NOT NULL,
        owner TEXT NOT NULL,
        state TEXT NOT NULL,
        heartbeat TIMESTAMPTZ NOT NULL DEFAULT now()
    )""",
    "CREATE INDEX IF NOT EXISTS reindex_jobs_started ON reindex_jobs (started)",
))
State = dict[str, Any]  # a Job as ``dataclasses.asdict`` gives it


class JobRecords(Protocol):
    owner: str  # what this process writes as the owner of the jobs it runs

    def save(self, state: State) -> None: ...

    def load(self, job_id: str) -> tuple[State, bool] | None:
        """The state, and whether its owner is still running it (or it has ended)."""

    def recent(self, limit: int) -> list[tuple[State, bool]]:
        """The newest, newest first."""

    def delete(self, job_id: str) -> None: ...


def job_records_for(settings: Settings) -> JobRecords:
    database = shared_database(settings, SCHEMA)
    if database is None:
        return FileJobRecords(settings.data_dir / "jobs")
    return DatabaseJobRecords(database)


def process_identity(pid: int | None = None) -> str:
    """``pid:start`` of a live process (start in clock ticks since boot, so a recycled pid
    does not match), or "" if there is no such process."""
    pid = os.getpid() if pid is None else pid
    if not os.path.exists("/proc/self/stat"):  # not Linux: the pid alone
        try:
            os.kill(pid, 0)
        except PermissionError:
            return f"{pid}:"
        except OSError:
            return ""
        return f"{pid}:"
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return f"{pid}:{fields[19]}"


class FileJobRecords:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.owner = process_identity()

    def save(self, state: State) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{state['id']}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(state), "utf-8")
        os.replace(tmp, self.folder / f"{state['id']}.json")

    def load(self, job_id: str) -> tuple[State, bool] | None:
        path = self.folder / f"{job_id}.json"
        if not path.exists():
            return None
        state = json.loads(path.read_text("utf-8"))
        return state, _owner_alive(state.get("owner", ""))

    def recent(self, limit: int) -> list[tuple[State, bool]]:
        found = [loaded for path in self.folder.glob("*.json")
                 if (loaded := self.load(path.stem)) is not None]
        return sorted(found, key=lambda loaded: loaded[0]["started"], reverse=True)[:limit]

    def delete(self, job_id: str) -> None:
        (self.folder / f"{job_id}.json").unlink(missing_ok=True)


def _owner_alive(owner: str) -> bool:
    pid = owner.split(":", 1)[0]
    return pid.isdigit() and process_identity(int(pid)) == owner


class DatabaseJobRecords:
    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database
        self.owner = f"{socket.gethostname()}/{process_identity()}"
        self._beating = False
        self._lock = threading.Lock()

    def save(self, state: State) -> None:
        with self.database.transaction() as transaction:
            transaction.execute(
                "INSERT INTO reindex_jobs (id, started, status, owner, state, heartbeat) "
                "VALUES (?, ?, ?, ?, ?, now()) ON CONFLICT (id) DO UPDATE SET "
                "status = excluded.status, state = excluded.state, heartbeat = now()",
                (state["id"], state["started"], state["status"], state["owner"],
                 json.dumps(state)))
        if state["status"] == "running" and state["owner"] == self.owner:
            self._keep_beating()

    def load(self, job_id: str) -> tuple[State, bool] | None:
        with self.database.transaction() as transaction:
            row = transaction.execute(f"SELECT {self._columns()} FROM reindex_jobs WHERE id = ?",
                                      (LEASE_S, job_id)).fetchone()
        return None if row is None else (json.loads(row[0]), bool(row[1]))

    def recent(self, limit: int) -> list[tuple[State, bool]]:
        with self.database.transaction() as transaction:
            rows = transaction.execute(
                f"SELECT {self._columns()} FROM reindex_jobs ORDER BY started DESC LIMIT ?",
                (LEASE_S, limit)).fetchall()
        return [(json.loads(state), bool(alive)) for state, alive in rows]

    def delete(self, job_id: str) -> None:
        with self.database.transaction() as transaction:
            transaction.execute("DELETE FROM reindex_jobs WHERE id = ?", (job_id,))

    @staticmethod
    def _columns() -> str:
        """The state, and "alive": ended, or beaten within the lease (a parameter)."""
        return ("state, status <> 'running' OR "
                "heartbeat > now() - make_interval(secs => ?::double precision)")

    def _keep_beating(self) -> None:
        with self._lock:
            if self._beating:
                return
            self._beating = True
        threading.Thread(target=self._beat, name="reindex-heartbeat", daemon=True).start()

    def _beat(self) -> None:
        """Touch this process's running jobs until it has none left."""
        while True:
            time.sleep(HEARTBEAT_S)
            with self._lock:
                try:
                    with self.database.transaction() as transaction:
                        running = transaction.execute(
                            "UPDATE reindex_jobs SET heartbeat = now() "
                            "WHERE owner = ? AND status = 'running'", (self.owner,)).rowcount
                except DatabaseUnavailable:
                    running = 1  # try again next beat; the lease tells the others meanwhile
                if not running:
                    self._beating = False
                    return
