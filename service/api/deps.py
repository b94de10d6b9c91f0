"""FastAPI dependencies: the settings and the served index snapshot.

They are ``async`` because none of them blocks (a version change is loaded in the
background): FastAPI runs a plain ``def`` dependency in the thread pool, a hop per
dependency per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.answering.serving import IndexHolder, Snapshot
from service.core.settings import Settings


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_holder(request: Request) -> IndexHolder:
    return request.app.state.holder


async def get_snapshot(holder: Annotated[IndexHolder, Depends(get_holder)]) -> Snapshot:
    return holder.snapshot()


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
HolderDep = Annotated[IndexHolder, Depends(get_holder)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
