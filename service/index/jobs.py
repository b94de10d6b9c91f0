"""Builds inside the serving process: background reindex jobs, and the embedder they share.

The build lock is taken when a job starts, in the caller's thread, so a second reindex is
refused at once (409); the job's thread releases it when the build ends. Each job's state
is also written to ``data_dir/jobs/<id>.json``, so any worker of the server can report it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from service.core.errors import NotFound, ServiceError
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.index.build import BuildResult, build_lock, rebuild

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
    owner: str = ""  # "pid:start time" of the process running it, to spot a dead one


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


def _owner_alive(owner: str) -> bool:
    pid = owner.split(":", 1)[0]
    return pid.isdigit() and process_identity(int(pid)) == owner


class ReindexJobs:
    """The reindex jobs this process started, newest last (the oldest are forgotten)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self.folder = settings.data_dir / "jobs"

    def start(self, embedder: Embedder, on_finished: Callable[[], None]) -> Job:
        """Start a rebuild from the corpus folder; ``Conflict`` if a build is running."""
        lock = ExitStack()
        lock.enter_context(build_lock(self.settings.index_dir))
        job = Job(id=uuid.uuid4().hex[:12], owner=process_identity())
        with self._lock:
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-KEEP_JOBS]:
                del self._jobs[old]
            self._save(job)
        thread = threading.Thread(target=self._run, args=(job.id, embedder, lock, on_finished),
                                  name=f"reindex-{job.id}", daemon=True)
        try:
            thread.start()
        except BaseException:
            lock.close()
            raise
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id) or self._load(job_id)
        if job is None:
            raise NotFound(f"no reindex job {job_id!r}; starting a reindex returns the id "
                           "of its job")
        return job

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
        self._update(job_id, **changes)

    def _update(self, job_id: str, **changes: object) -> None:
        with self._lock:
            if job_id in self._jobs:
                self._jobs[job_id] = replace(self._jobs[job_id], **changes)  # type: ignore[arg-type]
                self._save(self._jobs[job_id])

    def _save(self, job: Job) -> None:
        """Write the job's state atomically for the other workers to read."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{job.id}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(asdict(job)), "utf-8")
        os.replace(tmp, self._path(job.id))

    def _load(self, job_id: str) -> Job | None:
        path = self._path(job_id)
        if not path.exists():
            return None
        data = json.loads(path.read_text("utf-8"))
        result = BuildResult(**data.pop("result")) if data.get("result") else None
        job = Job(**{**data, "result": result})
        if job.status == "running" and not _owner_alive(job.owner):
            return replace(job, status="failed", error=(
                f"interrupted: the server process running this job stopped during the "
                f"{job.stage!r} stage ({job.done}/{job.total}); start a new reindex "
                "(POST /api/v1/reindex)"))
        return job

    def _path(self, job_id: str) -> Path:
        if not job_id.isalnum():
            raise NotFound(f"no reindex job {job_id!r}; job ids are letters and digits")
        return self.folder / f"{job_id}.json"
