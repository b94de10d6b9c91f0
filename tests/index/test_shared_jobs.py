"""Reindex job records in a shared PostgreSQL: a job one node runs is reported by the other;
its heartbeat keeps it "running", a stale heartbeat (a killed node) reports it interrupted."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import pytest

from service.core.postgres import PostgresDatabase
from service.index import job_records
from service.index.jobs import Job, ReindexJobs
from tests.conftest import make_settings


def two_nodes(tmp_path: Path, url: str) -> tuple[ReindexJobs, ReindexJobs]:
    return (ReindexJobs(make_settings(tmp_path / "a", database_url=url)),
            ReindexJobs(make_settings(tmp_path / "b", database_url=url)))


def test_a_job_on_one_node_is_reported_by_the_other(tmp_path: Path, postgres_url: str) -> None:
    node_a, node_b = two_nodes(tmp_path, postgres_url)
    with node_a.track("upload") as progress:
        progress("embedded", 3, 9)
        seen = node_b.recent(1)[0]
        assert (seen.kind, seen.status, seen.stage, seen.done, seen.total) == \
            ("upload", "running", "embedded", 3, 9)
    assert node_b.get(seen.id).status == "done"
    assert not (tmp_path / "a" / "data" / "jobs").exists()  # the table, not files


def test_the_heartbeat_keeps_a_quiet_job_running(tmp_path: Path, postgres_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_records, "HEARTBEAT_S", 0.2)
    monkeypatch.setattr(job_records, "LEASE_S", 1.0)
    node_a, node_b = two_nodes(tmp_path, postgres_url)
    with node_a.track("reindex") as progress:
        progress("embedded", 1, 100)
        job_id = node_b.recent(1)[0].id
        time.sleep(2.0)  # two leases without progress; the beats carry it
        assert node_b.get(job_id).status == "running"


def test_a_job_whose_node_stopped_beating_is_reported_interrupted(
        tmp_path: Path, postgres_url: str) -> None:
    node_a, node_b = two_nodes(tmp_path, postgres_url)
    gone = Job(id="gone1", stage="embedded", done=120, total=590, started=time.time(),
               owner="node-a/123:456")
    live = Job(id="live2", stage="embedded", done=5, total=9, started=time.time(),
               owner="node-a/123:456")
    for job in (gone, live):
        node_a.records.save(asdict(job))
    database = PostgresDatabase(postgres_url, job_records.SCHEMA)
    with database.transaction() as transaction:
        transaction.execute("UPDATE reindex_jobs SET heartbeat = now() - interval '1 hour' "
                            "WHERE id = 'gone1'")
    stale = node_b.get("gone1")
    assert stale.status == "failed" and stale.error is not None
    assert stale.error.startswith("interrupted") and "'embedded' stage (120/590)" in stale.error
    assert node_b.get("live2").status == "running"
    assert [j.status for j in node_b.recent(5)] in (["failed", "running"], ["running", "failed"])
