"""What `policybot add` and `policybot remove` do (the same library calls as the admin API)."""

from __future__ import annotations

import argparse
from pathlib import Path

from service.core.errors import BadRequest, NotFound
from service.core.settings import Settings
from service.embedding.embedders import embedder_for
from service.index.library import DocumentMeta, add_file, remove_document, split_replaces


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add each file (stored under <corpus>/uploads/) and reindex after each one."""
    if len(args.files) > 1 and (args.id or args.title):
        raise BadRequest("--id and --title name one document; add the files one at a time")
    meta = DocumentMeta(id=args.id, title=args.title, source=args.source, date=args.date,
                        agency=args.agency, doc_number=args.doc_number, issued=args.issued,
                        effective=args.effective, expires=args.expires,
                        replaces=split_replaces(args.replaces))
    embedder = embedder_for(settings)
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise NotFound(f"{name}: no such file")
        added = add_file(settings, embedder, path.name, path.read_bytes(), meta, wait=True)
        state = "added" if added.created else "already indexed"
        print(f"{state}: {added.document_id}  {added.title}  ({added.passages} passages)")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    result = remove_document(settings, embedder_for(settings), args.id, wait=True)
    print(f"removed {args.id}; index version {result.version}: {result.documents} documents, "
          f"{result.passages} passages")
    return 0
