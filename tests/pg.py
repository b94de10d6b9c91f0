"""A throwaway PostgreSQL cluster for the tests that need a real server.

``PostgresCluster.running()`` runs Debian's ``initdb`` (as the ``postgres`` user when the
tests run as root: initdb refuses root) in a new folder of the system's temp folder
(pytest's are private to root, which the ``postgres`` user cannot enter) and ``pg_ctl
start`` on a free port of 127.0.0.1, trust authentication, the socket in the folder;
leaving the block stops the server and removes the folder. conftest.py's
``postgres_server`` fixture starts one per session, ``postgres_url`` gives each test an empty
database of it. ``.ci/install-postgres`` installs the package when it is missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port

USER = "postgres"


def postgres_bin(name: str) -> str | None:
    """``name`` (initdb, pg_ctl) on PATH or in Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return versions[-1] if versions else None


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", USER, "--", *command] if os.geteuid() == 0 else command


@dataclass(frozen=True)
class PostgresCluster:
    folder: Path
    port: int

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[PostgresCluster]:
        folder = Path(tempfile.mkdtemp(prefix="policybot-pg-"))
        try:
            cluster = cls.start(folder)
            try:
                yield cluster
            finally:
                cluster.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @classmethod
    def start(cls, folder: Path) -> PostgresCluster:
        initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise FileNotFoundError("initdb / pg_ctl not found; run .ci/install-postgres "
                                    "(Debian's postgresql package)")
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(folder, USER, USER)
        cluster = cls(folder, free_port())
        subprocess.run(_as_owner([initdb, "-D", str(folder / "data"), "-A", "trust", "-U", USER,
                                  "-E", "UTF8", "--locale", "C.UTF-8"]),
                       check=True, capture_output=True)
        options = f"-p {cluster.port} -k {folder} -c listen_addresses=127.0.0.1"
        subprocess.run(_as_owner([pg_ctl, "-D", str(folder / "data"), "-o", options, "-w",
                                  "-l", str(folder / "server.log"), "start"]),
                       check=True, capture_output=True)
        return cluster

    def stop(self) -> None:
        pg_ctl = postgres_bin("pg_ctl")
        assert pg_ctl
        subprocess.run(_as_owner([pg_ctl, "-D", str(self.folder / "data"), "-m", "immediate",
                                  "-w", "stop"]), check=False, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database of this cluster."""
        import psycopg

        name = "test_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)
