"""What `policybot backup`, `restore`, `versions`, `rollback` and `migrate-sqlite` do."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service.core.database import database_url
from service.core.postgres import PostgresDatabase
from service.core.settings import Settings
from service.storage.backup import backup, index_versions, restore, rollback
from service.storage.migration import Copied, migrate_sqlite


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    manifest = backup(settings, Path(args.folder))
    print(f"backup in {args.folder}: index version {manifest['index_version']} "
          f"({manifest['passages']} passages), databases {', '.join(manifest['databases'])}, "
          f"{len(manifest['files'])} files with SHA-256 in manifest.json")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    manifest = restore(settings, Path(args.folder), force=args.force)
    print(f"restored the backup of {manifest['created']}: index version "
          f"{manifest['index_version']} is current in {settings.index_dir}; databases in "
          f"{settings.data_dir}; uploads in {settings.corpus_dir / 'uploads'}")
    return 0


def cmd_versions(args: argparse.Namespace, settings: Settings) -> int:
    versions = index_versions(settings)
    if not versions:
        print(f"no index versions in {settings.index_dir}; run `policybot reindex`")
        return 0
    print(f"{'':2}{'version':<34} {'passages':>8} {'documents':>9}  created")
    for version in reversed(versions):
        mark = "* " if version.current else "  "
        print(f"{mark}{version.version:<34} {version.passages:>8} {version.documents:>9}  "
              f"{version.created}")
    return 0


def cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    version = rollback(settings, args.version)
    print(f"index version {version} is current; running servers switch to it within a second. "
          "The corpus is unchanged: the next reindex builds from it again.")
    return 0


def cmd_migrate_sqlite(args: argparse.Namespace, settings: Settings) -> int:
    if args.data:
        settings = settings.model_copy(update={"data_dir": Path(args.data)})

    def report(copied: Copied) -> None:
        print(f"{copied.what}: {copied.seen} read, {copied.added} copied, "
              f"{copied.seen - copied.added} already there", file=sys.stderr)

    copied = migrate_sqlite(settings, report)
    print(f"copied {sum(c.added for c in copied)} rows and files into "
          f"{PostgresDatabase(database_url(settings)).label}")
    return 0
