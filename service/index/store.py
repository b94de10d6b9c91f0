"""The index on disk: versioned folders, a manifest, and an atomic CURRENT pointer.

    index/
      CURRENT              name of the version being served (replaced atomically)
      versions/<version>/  manifest.json, passages.jsonl, vectors.faiss, bm25_vocab.json,
                           bm25_{offsets,doc_ids,impacts,doc_lengths}.npy (memory-mapped;
                           versions written before them hold bm25.npz, still read),
                           chars_*.npy / chars_vocab.json (character BM25 of the passages),
                           docs_*.npy / docs_vocab.json (character BM25 of whole documents)
      .build-<version>/    a build in progress (removed if a build dies)
      .lock                held while a build runs
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from service.core.errors import IndexMismatch, NotReady
from service.core.models import Passage
from service.index.bm25 import BM25Index, TermStatistics
from service.index.channels import FaissChannels, IndexChannels
from service.index.doc_rank import DOCUMENT_PREFIX, passage_document_rows
from service.index.tokenizer import word_list_version
from service.index.vector_index import IndexSpec, load_index

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"


@dataclass(frozen=True)
class LoadedIndex:
    """One index version in memory. From a version folder: FAISS ``vectors`` and the BM25
    arrays, searched through ``FaissChannels``; from Milvus (``vector_store=milvus``):
    ``vectors`` is None, ``bm25`` holds term statistics only and ``search`` is the store's
    channels."""

    version: str
    folder: Path
    manifest: dict[str, Any]
    passages: list[Passage]
    vectors: faiss.Index | None
    bm25: BM25Index | TermStatistics  # what evidence weighs question words with
    chars: BM25Index | None = None  # char uni+bigram BM25 over the same texts as ``bm25``
    doc_chars: BM25Index | None = None  # char BM25 over title + whole text; rows = documents
    passage_docs: np.ndarray | None = None  # int32 document row of each passage
    search: IndexChannels | None = None  # the channels when they are not the folder's

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        return self.manifest["documents"]

    @cached_property
    def channels(self) -> IndexChannels:
        if self.search is not None:
            return self.search
        assert self.vectors is not None and isinstance(self.bm25, BM25Index)
        return FaissChannels(self.vectors, self.bm25, self.chars, self.doc_chars,
                             self.passage_docs)


def versions_dir(index_dir: Path) -> Path:
    return index_dir / "versions"


def current_version(index_dir: Path) -> str | None:
    """The version CURRENT names, or None when no index was ever built."""
    try:
        name = (index_dir / "CURRENT").read_text("utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def switch_current(index_dir: Path, version: str) -> None:
    """Point CURRENT at ``version`` with an atomic rename (readers see old or new, never half)."""
    tmp = index_dir / f".CURRENT.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(version + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text("utf-8"))


def load_current(index_dir: Path, embedder_name: str) -> LoadedIndex:
    version = current_version(index_dir)
    if version is None:
        raise NotReady(f"no index in {str(index_dir)!r} yet; run `policybot reindex`")
    return load_version(index_dir, version, embedder_name)


def load_version(index_dir: Path, version: str, embedder_name: str) -> LoadedIndex:
    folder = versions_dir(index_dir) / version
    if not (folder / MANIFEST).exists():
        raise NotReady(f"index version {version!r} is missing in {str(index_dir)!r}; "
                       "run `policybot reindex`")
    manifest = read_manifest(folder)
    check_manifest(manifest, embedder_name, folder)
    spec = IndexSpec(**manifest["vector_index"])
    passages = read_passages(folder)
    lexical = {}  # versions built before the character channels have none: retrieval as before
    if BM25Index.exists(folder, "chars") and BM25Index.exists(folder, "chars", DOCUMENT_PREFIX):
        lexical = {"chars": BM25Index.load(folder, "chars"),
                   "doc_chars": BM25Index.load(folder, "chars", DOCUMENT_PREFIX),
                   "passage_docs": passage_document_rows(passages)}
    return LoadedIndex(
        version=version, folder=folder, manifest=manifest,
        passages=passages, vectors=load_index(folder, spec),
        bm25=BM25Index.load(folder), **lexical,
    )


def check_manifest(manifest: dict[str, Any], embedder_name: str, folder: Path) -> None:
    found_format = manifest.get("format_version")
    if found_format != FORMAT_VERSION:
        raise IndexMismatch(
            f"index {str(folder)!r} has format version {found_format}, this policybot reads "
            f"{FORMAT_VERSION}; run `policybot reindex`"
        )
    built_with = manifest.get("embedder", {}).get("name")
    if built_with != embedder_name:
        raise IndexMismatch(
            f"index {str(folder)!r} was built with embedder {built_with!r} but the settings "
            f"ask for {embedder_name!r}; run `policybot reindex` (or set POLICYBOT_EMBEDDER)"
        )
    words = manifest.get("word_list")
    if words is not None and words != word_list_version():
        log.warning("index %r was cut into words with another word list (%s, this policybot has "
                    "%s): keyword search misses the new terms until `policybot reindex`",
                    str(folder), words, word_list_version())


def read_passages(folder: Path) -> list[Passage]:
    with open(folder / PASSAGES, encoding="utf-8") as handle:
        return [Passage(**json.loads(line)) for line in handle if line.strip()]


def write_passages(folder: Path, passages: list[Passage]) -> None:
    with open(folder / PASSAGES, "w", encoding="utf-8") as handle:
        for passage in passages:
            handle.write(json.dumps(asdict(passage), ensure_ascii=False) + "\n")


def publish(index_dir: Path, build_folder: Path, version: str, keep: int) -> Path:
    """Move a finished build into versions/, make it current, prune old versions."""
    _fsync_tree(build_folder)
    final = versions_dir(index_dir) / version
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(build_folder, final)
    _fsync_dir(final.parent)
    switch_current(index_dir, version)
    prune(index_dir, keep)
    return final


def prune(index_dir: Path, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` versions (never the current one)."""
    current = current_version(index_dir)
    folders = sorted(p for p in versions_dir(index_dir).glob("*") if p.is_dir())
    doomed = [p for p in folders[:-keep] if p.name != current] if keep else []
    for folder in doomed:
        shutil.rmtree(folder, ignore_errors=True)
    return [p.name for p in doomed]


def remove_stale_builds(index_dir: Path) -> None:
    """Builds that died (e.g. kill -9) leave ``.build-*`` folders; they are never current."""
    for folder in index_dir.glob(".build-*"):
        shutil.rmtree(folder, ignore_errors=True)


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
