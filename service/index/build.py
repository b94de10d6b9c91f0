"""Build a new index version from the corpus folder and make it current (a version folder
and CURRENT, or with ``vector_store=milvus`` Milvus collections and an alias).

Unchanged documents reuse their passages from the current version and their
vectors from the embedding cache, so a reindex only embeds what is new.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from service.core.errors import ServiceError
from service.core.models import Document, Passage
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.embedding.passage_cache import PassageVectorCache
from service.index import milvus_store
from service.index.bm25 import build_bm25
from service.index.build_lock import build_lock
from service.index.doc_rank import (
    DOCUMENT_PREFIX,
    document_rows,
    document_texts,
    passage_document_rows,
)
from service.index.shared_uploads import pull_uploads
from service.index.store import (
    FORMAT_VERSION,
    MANIFEST,
    current_version,
    publish,
    read_manifest,
    read_passages,
    remove_stale_builds,
    versions_dir,
    write_passages,
)
from service.index.tokenizer import word_list_version
from service.index.vector_index import IndexSpec, build_index, choose_spec, save_index
from service.index.vector_store import current_passages, uses_milvus
from service.ingest.chunking import ChunkingParams, chunk_document
from service.ingest.corpus import read_corpus
from service.ingest.extraction_cache import extraction_cache_for
from service.ingest.policy_facts import policy_facts
from service.ingest.structure import STRUCTURE_VERSION

log = logging.getLogger("policybot")
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BuildResult:
    version: str
    documents: int
    passages: int
    embedded: int
    seconds: float
    skipped: tuple[str, ...] = ()  # "path: reason" for each corpus file left out


def embedding_text(passage: Passage) -> str:
    """What is embedded and BM25-indexed: title and heading give the passage its context."""
    context = " ".join(part for part in (passage.title, passage.heading) if part)
    return f"{context}\n{passage.text}" if context else passage.text


def reindex(settings: Settings, embedder: Embedder, *, wait: bool = False,
            progress: bool = True, on_progress: Progress | None = None) -> BuildResult:
    """Build a new version from ``settings.corpus_dir`` and switch CURRENT to it."""
    with build_lock(settings, wait=wait):
        return rebuild(settings, embedder, progress=progress, on_progress=on_progress)


def rebuild(settings: Settings, embedder: Embedder, *, progress: bool = True,
            on_progress: Progress | None = None) -> BuildResult:
    """``reindex`` for a caller that already holds the build lock (uploads, background jobs).
    With a shared database the uploads folder is first brought in line with it."""
    pull_uploads(settings)
    remove_stale_builds(settings.index_dir)
    if uses_milvus(settings):
        milvus_store.remove_stale_builds(milvus_store.client_for(settings),
                                         settings.milvus_collection)
    contents = read_corpus(settings.corpus_dir, extraction_cache_for(settings))
    skipped = tuple(str(file) for file in contents.skipped)
    for reason in skipped:
        log.warning("reindex skipped %s", reason)
    result = build_version(settings, embedder, contents.documents, progress, on_progress)
    prune_caches(settings)
    return replace(result, skipped=skipped)


def prune_caches(settings: Settings) -> None:
    """Drop cached vectors and extracted texts that no reindex has used for
    ``cache_keep_days`` (a reindex marks what it uses); they are only ever a speed-up."""
    if not settings.cache_keep_days:
        return
    unused_since = time.time() - settings.cache_keep_days * 86400
    vectors = PassageVectorCache(settings.data_dir / "embedding_cache.sqlite").prune(unused_since)
    texts = extraction_cache_for(settings).prune(unused_since)
    if vectors or texts:
        log.info("dropped %d cached vectors and %d extracted texts unused for %d days",
                 vectors, texts, settings.cache_keep_days)


def build_version(settings: Settings, embedder: Embedder, documents: list[Document],
                  progress: bool = True, on_progress: Progress | None = None) -> BuildResult:
    """Write ``documents`` as a new index version (caller holds the build lock)."""
    started = time.perf_counter()
    report = on_progress or (lambda stage, done, total: None)
    params = chunking_params(settings)
    passages = _chunk_all(documents, params, _previous_passages(settings, params, documents))
    if not passages:
        raise ServiceError(f"the corpus in {str(settings.corpus_dir)!r} has no text to index; "
                           "add policy documents first", status=422)
    report("chunked", len(passages), len(passages))
    version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:6]
    if uses_milvus(settings):
        embedded = _build_in_milvus(settings, embedder, version, documents, passages, progress,
                                    report)
        return BuildResult(version, len(documents), len(passages), embedded,
                           time.perf_counter() - started)
    folder = settings.index_dir / f".build-{version}"
    folder.mkdir(parents=True)  # before embedding: a build killed mid-way leaves it behind
    try:
        texts = [embedding_text(p) for p in passages]
        cache = PassageVectorCache(settings.data_dir / "embedding_cache.sqlite")
        vectors, embedded = cache.embed(  # "embedded n/total" while it runs
            embedder, texts, settings.embed_batch_size, progress,
            on_progress=lambda done, total: report("embedded", done, total))
        spec = choose_spec(len(passages))
        save_index(build_index(vectors, spec), folder)
        build_bm25(texts).save(folder)
        build_bm25(texts, "chars").save(folder)
        build_bm25(document_texts(documents, passages), "chars").save(folder, DOCUMENT_PREFIX)
        write_passages(folder, passages)
        manifest = _manifest(version, settings, embedder, spec, documents, passages)
        (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    publish(settings.index_dir, folder, version, settings.keep_versions)
    report("published", len(passages), len(passages))
    return BuildResult(version, len(documents), len(passages), embedded,
                       time.perf_counter() - started)


def _build_in_milvus(settings: Settings, embedder: Embedder, version: str,
                     documents: list[Document], passages: list[Passage], progress: bool,
                     report: Progress) -> int:
    """The version's collections written whole, then the alias moved to them and old
    versions dropped (service/index/milvus_store.py); returns how many texts were embedded."""
    texts = [embedding_text(p) for p in passages]
    cache = PassageVectorCache(settings.data_dir / "embedding_cache.sqlite")
    vectors, embedded = cache.embed(
        embedder, texts, settings.embed_batch_size, progress,
        on_progress=lambda done, total: report("embedded", done, total))
    spec = choose_spec(len(passages))
    data = milvus_store.VersionData(
        version=version,
        manifest=_manifest(version, settings, embedder, spec, documents, passages),
        passages=passages, vectors=vectors, spec=spec, words=build_bm25(texts),
        chars=build_bm25(texts, "chars"),
        docs=build_bm25(document_texts(documents, passages), "chars"),
        passage_docs=passage_document_rows(passages), document_ids=list(document_rows(passages)))
    client = milvus_store.client_for(settings)
    prefix = settings.milvus_collection
    milvus_store.write_version(client, prefix, data)
    milvus_store.switch_alias(client, prefix, version)
    milvus_store.prune(client, prefix, settings.keep_versions)
    report("published", len(passages), len(passages))
    return embedded


def _chunk_all(documents: list[Document], params: ChunkingParams,
               previous: dict[str, list[Passage]]) -> list[Passage]:
    passages: list[Passage] = []
    for document in documents:
        passages.extend(previous.get(document.id) or chunk_document(document, params))
    return passages


def _previous_passages(settings: Settings, params: ChunkingParams,
                       documents: list[Document]) -> dict[str, list[Passage]]:
    """Passages of the current version for documents whose bytes and metadata are unchanged."""
    if uses_milvus(settings):
        stored = current_passages(settings)
        if stored is None:
            return {}
        manifest, read = stored[0], lambda: stored[1]
    else:
        version = current_version(settings.index_dir)
        folder = versions_dir(settings.index_dir) / (version or "")
        if version is None or not (folder / MANIFEST).exists():
            return {}
        manifest, read = read_manifest(folder), lambda: read_passages(folder)
    if manifest.get("chunking") != _chunking_manifest(params):
        return {}
    old = manifest.get("documents", {})
    unchanged = {d.id for d in documents if old.get(d.id, {}).get("fingerprint") == _fingerprint(d)}
    grouped: dict[str, list[Passage]] = {}
    for passage in read():
        if passage.document_id in unchanged:
            grouped.setdefault(passage.document_id, []).append(passage)
    return grouped


def chunking_params(settings: Settings) -> ChunkingParams:
    return ChunkingParams(settings.chunk_size, settings.chunk_overlap, settings.chunk_structure)


def _chunking_manifest(params: ChunkingParams) -> dict[str, object]:
    """What passages depend on; a version chunked otherwise is not reused. Without clause
    structure the entry is what it was before it existed, so those versions stay reusable."""
    entry: dict[str, object] = {"size": params.size, "overlap": params.overlap}
    if params.structure:
        entry["structure"] = STRUCTURE_VERSION
    return entry


def _fingerprint(document: Document) -> str:
    return f"{document.sha256}|{document.title}|{document.source}|{document.date}"


def _manifest(version: str, settings: Settings, embedder: Embedder, spec: IndexSpec,
              documents: list[Document], passages: list[Passage]) -> dict[str, object]:
    counts: dict[str, int] = {}
    for passage in passages:
        counts[passage.document_id] = counts.get(passage.document_id, 0) + 1
    return {
        "format_version": FORMAT_VERSION,
        "version": version,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "embedder": {"name": embedder.name, "dim": embedder.dim},
        "chunking": _chunking_manifest(chunking_params(settings)),
        "word_list": word_list_version(),
        "vector_index": {"kind": spec.kind, "params": spec.params},
        "passage_count": len(passages),
        "corpus_dir": os.fspath(settings.corpus_dir),
        "documents": {
            d.id: {"title": d.title, "source": d.source, "date": d.date, "path": d.path,
                   "sha256": d.sha256, "fingerprint": _fingerprint(d), "tags": list(d.tags),
                   "passages": counts.get(d.id, 0),
                   "policy": policy_facts(d.title, d.text, d.meta).as_dict()}
            for d in documents
        },
    }

