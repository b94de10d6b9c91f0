"""What sharing state through PostgreSQL costs, against the SQLite files of one machine.

    .venv/bin/python bench/bench_shared_state.py [--repeat 300]

Starts a throwaway PostgreSQL cluster (tests/pg.py: Debian's initdb on a free port of
127.0.0.1, the same server as the tests) and times, per call, as the service makes them
(one connection per call): a feedback row, an unanswered question, a reindex job's state;
taking and releasing the build lock; how long after a SIGKILL of the lock's holder another
process gets it; `migrate-sqlite` of 20,000 feedback rows; and pulling 40 uploads of 200 KB
into an empty node. PostgreSQL's figures are ratios against SQLite's measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from harness import ROOT, Report, median_ms, progress, table

sys.path.insert(0, str(ROOT))  # tests/pg.py: the tests' throwaway cluster

from service.core.postgres import PostgresDatabase  # noqa: E402
from service.core.settings import Settings  # noqa: E402
from service.index.build_lock import build_lock  # noqa: E402
from service.index.job_records import job_records_for  # noqa: E402
from service.index.jobs import Job  # noqa: E402
from service.index.shared_uploads import shared_uploads_for  # noqa: E402
from service.storage.feedback import Feedback, FeedbackStore  # noqa: E402
from service.storage.migration import migrate_sqlite  # noqa: E402
from service.storage.questions import QuestionLog  # noqa: E402
from tests.pg import PostgresCluster  # noqa: E402

RATING = Feedback(question="研发补贴怎么申请？", answer="向科技局申报。[1]", passage_ids=("p#1",),
                  helpful=True)
HOLD = """
import sys, time
from service.core.postgres import PostgresDatabase
with PostgresDatabase(sys.argv[1]).advisory_lock("policybot build", wait=False) as held:
    print("held", flush=True)
    time.sleep(600)
"""


def per_call(settings: Settings, repeat: int) -> list[tuple[str, float]]:
    feedback, log = FeedbackStore.from_settings(settings), QuestionLog.from_settings(settings)
    records = job_records_for(settings)
    job = asdict(Job(id="bench1", started=time.time(), owner=records.owner, status="done"))
    return [
        ("feedback row", median_ms(lambda: feedback.add(RATING), repeat)),
        ("unanswered question", median_ms(lambda: log.record("深圳的房租补贴有多少？"), repeat)),
        ("reindex job state", median_ms(lambda: records.save(job), repeat)),
        ("build lock taken and released", median_ms(lambda: _lock_once(settings), repeat)),
    ]


def _lock_once(settings: Settings) -> None:
    with build_lock(settings):
        pass


def lock_handover_s(url: str) -> float:
    """Seconds from SIGKILL of the lock's holder until another process holds it."""
    with subprocess.Popen([sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        database = PostgresDatabase(url)
        killed = time.perf_counter()
        holder.kill()
        while True:
            with database.advisory_lock("policybot build", wait=False) as held:
                if held:
                    return time.perf_counter() - killed
            time.sleep(0.005)


def migration_rows_per_s(root: Path, url: str, rows: int = 20_000) -> float:
    old = Settings(data_dir=root / "old" / "data", corpus_dir=root / "old" / "corpus")
    store = FeedbackStore.from_settings(old)
    with store.database.transaction() as transaction:  # type: ignore[attr-defined]
        transaction.execute_many(
            "INSERT INTO feedback (created, question, answer, passage_ids, helpful, comment) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [("2026-01-01T00:00:00+00:00", f"问题{n}", "答案", "[]", n % 2, "") for n in
             range(rows)])
    started = time.perf_counter()
    migrate_sqlite(old.model_copy(update={"database_url": Settings(database_url=url)
                                          .database_url}))
    return rows / (time.perf_counter() - started)


def pull_seconds(root: Path, url: str, files: int = 40, size: int = 200_000) -> float:
    writer = Settings(corpus_dir=root / "a" / "corpus", database_url=url)
    uploads = writer.corpus_dir / "uploads"
    uploads.mkdir(parents=True)
    for n in range(files):
        (uploads / f"policy-{n}.txt").write_bytes(bytes([65 + n % 26]) * size)
    shared = shared_uploads_for(writer)
    assert shared is not None
    shared.push()
    reader = shared_uploads_for(Settings(corpus_dir=root / "b" / "corpus", database_url=url))
    assert reader is not None
    started = time.perf_counter()
    assert len(reader.pull().written) == files
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    report = Report("Shared state: PostgreSQL against SQLite",
                    f"bench/bench_shared_state.py --repeat {args.repeat}")
    with tempfile.TemporaryDirectory() as folder, PostgresCluster.running() as cluster:
        root = Path(folder)
        url = cluster.new_database()
        progress("per call, SQLite files")
        sqlite = per_call(Settings(data_dir=root / "sqlite", index_dir=root / "index"),
                          args.repeat)
        progress("per call, PostgreSQL")
        postgres = per_call(Settings(data_dir=root / "pg", database_url=url), args.repeat)
        report.add(table(["per call (median ms)", "SQLite files", "PostgreSQL", "ratio"],
                         [(name, lite, pg, pg / lite) for (name, lite), (_, pg)
                          in zip(sqlite, postgres, strict=True)]))
        progress("lock handover, migration, uploads")
        handovers = sorted(lock_handover_s(cluster.new_database()) for _ in range(5))
        report.add(table(["what", "figure"], [
            ("build lock free after SIGKILL of its holder (median of 5)",
             f"{1000 * handovers[2]:.0f} ms"),
            ("migrate-sqlite, 20,000 feedback rows", f"{migration_rows_per_s(root, url):,.0f} "
             "rows/s"),
            ("pull 40 uploads × 200 KB into an empty node",
             f"{pull_seconds(root, cluster.new_database()):.2f} s"),
        ]))
    report.save()


if __name__ == "__main__":
    main()
