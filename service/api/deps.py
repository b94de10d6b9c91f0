"""FastAPI dependencies: the settings, the served index snapshot, the reindex jobs, the
feedback store, and the admin/staff checks; routes never reach into ``app.state``.

They are ``async`` because none of them blocks (a version change is loaded in the
background): FastAPI runs a plain ``def`` dependency in the thread pool, a hop per
dependency per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.answering.serving import IndexHolder, Snapshot
from service.api.auth import require_admin, require_staff
from service.core.settings import Settings
from service.index.jobs import ReindexJobs
from service.storage.feedback import FeedbackStore


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_holder(request: Request) -> IndexHolder:
    return request.app.state.holder


async def get_snapshot(holder: Annotated[IndexHolder, Depends(get_holder)]) -> Snapshot:
    return holder.snapshot()


async def get_jobs(request: Request) -> ReindexJobs:
    return request.app.state.reindex_jobs


async def get_feedback_store(request: Request) -> FeedbackStore:
    return request.app.state.feedback


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
JobsDep = Annotated[ReindexJobs, Depends(get_jobs)]
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback_store)]
AdminDep = Depends(require_admin)  # for a router's or route's ``dependencies``
StaffDep = Depends(require_staff)
HolderDep = Annotated[IndexHolder, Depends(get_holder)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
