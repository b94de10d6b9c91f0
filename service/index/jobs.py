"""Builds inside the serving process: background reindex jobs, and the embedder they share.

The build lock is taken when a job starts, in the caller's thread, so a second reindex is
refused at once (409); the job's thread releases it when the build ends. Each job's state
is also recorded (``data_dir/jobs/<id>.json``, or the database's ``reindex_jobs`` table, see
job_records.py), so any worker of the server, or any node sharing the database, can report
it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np

from service.core import metrics
from service.core.errors import NotFound, ServiceError
from service.core.settings import Settings
from service.core.sql import DatabaseUnavailable
from service.embedding.embedders import Embedder
from service.index.build import BuildResult, Progress, rebuild
from service.index.build_lock import build_lock
from service.index.job_records import job_records_for

log = logging.getLogger("policybot")

Status = Literal["running", "done", "failed"]
KEEP_JOBS = 50


class SharedEmbedder:
    """The serving embedder, lent to a build that runs while questions are answered.

    The model runs one call at a time and a waiting question goes before the next
    passage batch (``ModelLanes``); small slices keep that wait short (a 4-passage
    slice is about 0.3 s on two cores, a 16-passage batch 1.3 s).
    """

    SLICE = 4

    def __init__(self, embedder: Embedder) -> None:
        self.embedder, self.name, self.dim = embedder, embedder.name, embedder.dim
        self.query_lanes = embedder.query_lanes

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        parts = [self.embedder.embed_passages(texts[start : start + self.SLICE])
                 for start in range(0, len(texts), self.SLICE)]
        return np.vstack(parts) if parts else self.embedder.embed_passages([])

    def embed_query(self, text: str) -> np.ndarray:
        return self.embedder.embed_query(text)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed_queries(texts)


@dataclass(frozen=True)
class Job:
    id: str
    status: Status = "running"
    stage: str = "starting"  # then "chunked", "embedded" (done/total rise), "published"
    done: int = 0
    total: int = 0
    result: BuildResult | None = None
    error: str | None = None
    started: float = 0.0  # seconds since the epoch
    finished: float | None = None
    kind: str = "reindex"  # or "upload", "delete": the rebuild of an admin change
    owner: str = ""  # the process running it ("pid:start time"), to spot a dead one


class ReindexJobs:
    """The reindex jobs this process started, newest last (the oldest are forgotten)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self.records = job_records_for(settings)

    def start(self, embedder: Embedder, on_finished: Callable[[], None]) -> Job:
        """Start a rebuild from the corpus folder; ``Conflict`` if a build is running."""
        lock = ExitStack()
        lock.enter_context(build_lock(self.settings))
        job = Job(id=uuid.uuid4().hex[:12], owner=self.records.owner, started=time.time())
        try:  # until the thread runs, the lock is this call's to release
            with self._lock:
                self._save(job)  # a database that cannot be reached: 503, nothing held
                self._jobs[job.id] = job
                for old in list(self._jobs)[:-KEEP_JOBS]:
                    del self._jobs[old]
            threading.Thread(target=self._run, args=(job.id, embedder, lock, on_finished),
                             name=f"reindex-{job.id}", daemon=True).start()
        except BaseException:
            lock.close()
            raise
        return job

    def get(self, job_id: str) -> Job:
        if not job_id.isalnum():
            raise NotFound(f"no reindex job {job_id!r}; job ids are letters and digits")
        with self._lock:
            job = self._jobs.get(job_id) or self._load(job_id)
        if job is None:
            raise NotFound(f"no reindex job {job_id!r}; starting a reindex returns the id "
                           "of its job")
        return job

    @contextmanager
    def track(self, kind: str) -> Iterator[Progress]:
        """Record the rebuild an upload or delete runs in the request as a job, so the
        console can show its progress; yields the ``on_progress`` callback to pass on.
        A change refused before any rebuild started (a bad file, a 404) leaves no job."""
        job = Job(id=uuid.uuid4().hex[:12], owner=self.records.owner, started=time.time(),
                  kind=kind)
        with self._lock:
            self._jobs[job.id] = job
            self._save(job)
        try:
            yield lambda stage, done, total: self._update(job.id, stage=stage, done=done,
                                                          total=total)
        except BaseException as exc:
            if self._forget_if_unstarted(job.id):
                raise
            error = exc.message if isinstance(exc, ServiceError) else "internal error"
            self._update(job.id, status="failed", error=error, finished=time.time())
            metrics.count_reindex_job("failed")
            raise
        if not self._forget_if_unstarted(job.id):
            self._update(job.id, status="done", finished=time.time())
            metrics.count_reindex_job("done")

    def _forget_if_unstarted(self, job_id: str) -> bool:
        with self._lock:
            if self._jobs[job_id].stage != "starting":
                return False
            del self._jobs[job_id]
            self.records.delete(job_id)
            return True

    def recent(self, limit: int = 10) -> list[Job]:
        """The newest jobs any worker of this server (or node) started, newest first."""
        return [_job_from(state, alive) for state, alive in self.records.recent(limit)]

    def _run(self, job_id: str, embedder: Embedder, lock: ExitStack,
             on_finished: Callable[[], None]) -> None:
        def progress(stage: str, done: int, total: int) -> None:
            self._update(job_id, stage=stage, done=done, total=total)

        changes: dict[str, object]
        try:
            with lock:
                result = rebuild(self.settings, SharedEmbedder(embedder), progress=False,
                                 on_progress=progress)
            on_finished()  # this worker serves the new version before the job says "done"
            changes = {"status": "done", "result": result}
        except ServiceError as exc:
            changes = {"status": "failed", "error": exc.message}
        except Exception as exc:  # a background thread has nobody else to report to
            log.exception("reindex job %s failed", job_id)
            changes = {"status": "failed", "error": f"internal error: {exc}"}
        self._update(job_id, **changes, finished=time.time())
        metrics.count_reindex_job(str(changes["status"]))

    def _update(self, job_id: str, **changes: object) -> None:
        """A running job's progress or end; a database that cannot be reached meanwhile does
        not stop the build (this worker still reports it; the others see it late)."""
        with self._lock:
            if job_id in self._jobs:
                self._jobs[job_id] = replace(self._jobs[job_id], **changes)  # type: ignore[arg-type]
                try:
                    self._save(self._jobs[job_id])
                except DatabaseUnavailable as exc:
                    log.warning("reindex job %s: state not recorded: %s", job_id, exc.message)

    def _save(self, job: Job) -> None:
        """Record the job's state for the other workers (and nodes) to read."""
        self.records.save(asdict(job))

    def _load(self, job_id: str) -> Job | None:
        loaded = self.records.load(job_id)
        return None if loaded is None else _job_from(*loaded)


def _job_from(state: dict[str, object], alive: bool) -> Job:
    """The recorded job; a running one whose owner is gone is reported interrupted."""
    data = dict(state)
    saved = data.pop("result", None)
    result = None
    if isinstance(saved, dict):
        result = BuildResult(**{**saved, "skipped": tuple(saved.get("skipped", ()))})
    job = Job(**{**data, "result": result})  # type: ignore[arg-type]
    if job.status == "running" and not alive:
        return replace(job, status="failed", error=(
            f"interrupted: the server process running this job stopped during the "
            f"{job.stage!r} stage ({job.done}/{job.total}); start a new reindex"))
    return job
