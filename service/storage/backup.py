"""Backups a running server can be left alone during, their restore, and index rollback.

A backup folder holds::

    manifest.json        what was copied: versions, sizes and SHA-256 of every file
    data/<name>.sqlite   every SQLite database in data_dir (feedback, unanswered questions,
                         embedding cache), copied with SQLite's online backup API
    index/CURRENT        the index version that was being served
    index/versions/<v>/  that version's files
    uploads/             the uploaded documents (<corpus>/uploads/)

The index version and the uploads are copied under the index build lock, so no reindex,
upload or delete runs half-way through them; servers keep answering meanwhile. Each
database is copied in one step of SQLite's backup API, a consistent snapshot (a writer
waits for it; a snapshot of a small database takes milliseconds).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from service import __version__
from service.core.errors import BadRequest, Conflict, NotFound
from service.core.settings import Settings
from service.index.build_lock import build_lock
from service.index.store import (
    MANIFEST,
    current_version,
    read_manifest,
    switch_current,
    versions_dir,
)

FORMAT = 1
BACKUP_MANIFEST = "manifest.json"
UPLOADS = "uploads"
SQLITE_MAGIC = b"SQLite format 3\x00"
SKIPPED_DATA = ("metrics",)  # prometheus-client's per-worker files are not SQLite


@dataclass(frozen=True)
class IndexVersion:
    version: str
    current: bool
    passages: int
    documents: int
    created: str


# ---- backup -------------------------------------------------------------------------------


def backup(settings: Settings, target: Path) -> dict[str, Any]:
    """Write a backup of ``settings``' data into the empty or new folder ``target``."""
    if target.exists() and any(target.iterdir()):
        raise Conflict(f"{target} is not empty; back up into a new or empty folder")
    target.mkdir(parents=True, exist_ok=True)
    databases = [path.relative_to(settings.data_dir).as_posix()
                 for path in sqlite_files(settings.data_dir)]
    for name in databases:
        _backup_sqlite(settings.data_dir / name, target / "data" / name)
    with build_lock(settings, wait=True):
        version = current_version(settings.index_dir)
        if version is not None:
            source = versions_dir(settings.index_dir) / version
            shutil.copytree(source, target / "index" / "versions" / version)
            (target / "index" / "CURRENT").write_text(version + "\n", "utf-8")
        uploads = settings.corpus_dir / UPLOADS
        if uploads.is_dir():
            shutil.copytree(uploads, target / UPLOADS)
    manifest = {
        "format": FORMAT, "policybot": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "index_version": version,
        "passages": _passages(target / "index" / "versions" / version) if version else 0,
        "databases": databases,
        "files": {path: digest for path, digest in _digests(target)},
    }
    (target / BACKUP_MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                          "utf-8")
    return manifest


def sqlite_files(data_dir: Path) -> list[Path]:
    """Every SQLite database below ``data_dir`` (by its header, whatever the suffix)."""
    if not data_dir.is_dir():
        return []
    found = []
    for path in sorted(data_dir.rglob("*")):
        relative = path.relative_to(data_dir)
        if relative.parts[0] in SKIPPED_DATA or not path.is_file():
            continue
        if path.suffix in (".sqlite", ".db", ".sqlite3") and _is_sqlite(path):
            found.append(path)
    return found


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def _backup_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy while other connections keep writing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source, timeout=30)) as live, \
            closing(sqlite3.connect(target)) as copy:
        live.backup(copy)  # one step: writers wait the few ms it takes, never restart it


def _passages(folder: Path) -> int:
    return int(read_manifest(folder).get("passage_count", 0))


def _digests(root: Path) -> list[tuple[str, str]]:
    return [(path.relative_to(root).as_posix(), _sha256(path))
            for path in sorted(root.rglob("*")) if path.is_file()
            and path.relative_to(root).as_posix() != BACKUP_MANIFEST]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- restore ------------------------------------------------------------------------------


def restore(settings: Settings, source: Path, force: bool = False) -> dict[str, Any]:
    """Bring a backup back into the configured folders.

    Refuses when a target already holds data (index versions, databases, uploads) unless
    ``force``; then the backup's files replace those, and CURRENT is switched last, so a
    running server moves to the restored index like after a reindex.
    """
    manifest = verify(source)
    occupied = _occupied(settings)
    if occupied and not force:
        raise Conflict("not restoring over existing data in " + ", ".join(occupied)
                       + "; restore into empty folders, or add --force to replace it")
    with build_lock(settings, wait=True):
        for path in sorted((source / "data").rglob("*")) if (source / "data").is_dir() else []:
            if path.is_file():
                _replace_file(path, settings.data_dir / path.relative_to(source / "data"))
        uploads = settings.corpus_dir / UPLOADS
        if (source / UPLOADS).is_dir() or uploads.exists():
            _replace_tree(source / UPLOADS, uploads)
        version = manifest.get("index_version")
        if version:
            folder = versions_dir(settings.index_dir) / version
            if not folder.exists():
                _replace_tree(source / "index" / "versions" / version, folder)
            switch_current(settings.index_dir, version)
    return manifest


def verify(source: Path) -> dict[str, Any]:
    """The backup's manifest, after checking every file against its SHA-256."""
    manifest_path = source / BACKUP_MANIFEST
    if not manifest_path.is_file():
        raise NotFound(f"{source} holds no {BACKUP_MANIFEST}; is it a `policybot backup` folder?")
    manifest = json.loads(manifest_path.read_text("utf-8"))
    if manifest.get("format") != FORMAT:
        raise BadRequest(f"{source}: backup format {manifest.get('format')!r} is not "
                         f"{FORMAT}; restore it with the policybot version that wrote it")
    for relative, digest in manifest["files"].items():
        path = source / relative
        if not path.is_file() or _sha256(path) != digest:
            raise BadRequest(f"{path} is missing or changed since the backup (SHA-256 "
                             "differs); the backup is damaged")
    return manifest


def _occupied(settings: Settings) -> list[str]:
    places = []
    versions = versions_dir(settings.index_dir)
    if versions.is_dir() and any(versions.iterdir()):
        places.append(str(settings.index_dir))
    if sqlite_files(settings.data_dir):
        places.append(str(settings.data_dir))
    uploads = settings.corpus_dir / UPLOADS
    if uploads.is_dir() and any(uploads.iterdir()):
        places.append(str(uploads))
    return places


def _replace_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.restore-{os.getpid()}")
    shutil.copy2(source, staged)
    os.replace(staged, target)
    for journal in ("-wal", "-shm", "-journal"):  # belonged to the database replaced
        target.with_name(target.name + journal).unlink(missing_ok=True)


def _replace_tree(source: Path, target: Path) -> None:
    """``target`` becomes a copy of ``source`` (removed when ``source`` does not exist)."""
    staged = target.with_name(f".{target.name}.restore-{os.getpid()}")
    shutil.rmtree(staged, ignore_errors=True)
    if source.is_dir():
        shutil.copytree(source, staged)
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    if staged.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)


# ---- index versions -----------------------------------------------------------------------


def index_versions(settings: Settings) -> list[IndexVersion]:
    """The kept index versions, oldest first."""
    current = current_version(settings.index_dir)
    folder = versions_dir(settings.index_dir)
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not (path / MANIFEST).is_file():
            continue
        manifest = read_manifest(path)
        found.append(IndexVersion(path.name, path.name == current,
                                  int(manifest.get("passage_count", 0)),
                                  len(manifest.get("documents", {})),
                                  str(manifest.get("created", ""))))
    return found


def rollback(settings: Settings, version: str | None = None) -> str:
    """Make ``version`` (default: the one before the current) current; servers switch to it
    like after a reindex. The corpus is not touched: the next reindex builds from it."""
    with build_lock(settings, wait=True):
        versions = index_versions(settings)
        names = [v.version for v in versions]
        current = current_version(settings.index_dir)
        if version is None:
            older = [name for name in names if current is None or name < current]
            if not older:
                raise NotFound("there is no index version older than the current one "
                               f"({current}); `policybot versions` lists them")
            version = older[-1]
        if version not in names:
            raise NotFound(f"no index version {version!r}; kept versions: "
                           f"{', '.join(names) or 'none'}")
        switch_current(settings.index_dir, version)
    return version
