"""FastAPI dependencies: the settings and the served index snapshot."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.serving import IndexHolder, Snapshot
from service.settings import Settings


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_holder(request: Request) -> IndexHolder:
    return request.app.state.holder


def get_snapshot(holder: Annotated[IndexHolder, Depends(get_holder)]) -> Snapshot:
    return holder.snapshot()


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
HolderDep = Annotated[IndexHolder, Depends(get_holder)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
