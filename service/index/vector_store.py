"""Where index versions live, chosen by ``settings.vector_store``: one seam for the build,
serving, evaluation and the library.

``faiss`` (the default): version folders under ``index_dir`` and the CURRENT file
(service/index/store.py). ``milvus``: collections behind an alias
(service/index/milvus_store.py); a node then needs no index folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.core.errors import NotReady
from service.core.models import Passage
from service.core.settings import Settings
from service.index import milvus_store, store
from service.index.store import LoadedIndex


def uses_milvus(settings: Settings) -> bool:
    return settings.vector_store == "milvus"


def current_version(settings: Settings) -> str | None:
    """The version being served: CURRENT's, or the Milvus alias's."""
    if not uses_milvus(settings):
        return store.current_version(settings.index_dir)
    client = milvus_store.client_for(settings)
    try:
        return milvus_store.current_version(client, settings.milvus_collection)
    except Exception as exc:  # MilvusException, grpc errors: the server went away
        reason = getattr(exc, "message", None) or str(exc)
        raise NotReady(f"Milvus at POLICYBOT_MILVUS_URI={milvus_store.milvus_uri(settings)!r} "
                       f"did not answer ({reason}); start it or fix the address") from exc


def load_version(settings: Settings, version: str, embedder_name: str) -> LoadedIndex:
    if not uses_milvus(settings):
        return store.load_version(settings.index_dir, version, embedder_name)
    from service.index.milvus_channels import MilvusChannels

    client = milvus_store.client_for(settings)
    stored = milvus_store.read_version(client, settings.milvus_collection, version)
    where = Path(f"milvus:{stored.names.passages}")
    store.check_manifest(stored.manifest, embedder_name, where)
    return LoadedIndex(
        version=version, folder=where, manifest=stored.manifest, passages=stored.passages,
        vectors=None, bm25=stored.statistics["words"], passage_docs=stored.passage_docs,
        search=MilvusChannels(client, stored),
    )


def load_current(settings: Settings, embedder_name: str) -> LoadedIndex:
    if not uses_milvus(settings):
        return store.load_current(settings.index_dir, embedder_name)
    version = current_version(settings)
    if version is None:
        raise NotReady(f"no index in {where(settings)} yet; run `policybot reindex`")
    return load_version(settings, version, embedder_name)


def current_manifest(settings: Settings) -> dict[str, Any] | None:
    """The manifest of the version being served (None before the first build)."""
    version = current_version(settings)
    return version_manifest(settings, version) if version is not None else None


def version_manifest(settings: Settings, version: str) -> dict[str, Any] | None:
    if uses_milvus(settings):
        return milvus_store.read_manifest(milvus_store.client_for(settings),
                                          settings.milvus_collection, version)
    try:
        return store.read_manifest(store.versions_dir(settings.index_dir) / version)
    except FileNotFoundError:
        return None


def current_passages(settings: Settings) -> tuple[dict[str, Any], list[Passage]] | None:
    """Manifest and passages of the current version: what a reindex reuses."""
    version = current_version(settings)
    if version is None:
        return None
    if uses_milvus(settings):
        client = milvus_store.client_for(settings)
        try:
            stored = milvus_store.read_version(client, settings.milvus_collection, version)
        except NotReady:
            return None
        return stored.manifest, stored.passages
    folder = store.versions_dir(settings.index_dir) / version
    if not (folder / store.MANIFEST).exists():
        return None
    return store.read_manifest(folder), store.read_passages(folder)


def where(settings: Settings) -> str:
    """The index's place, for messages: the folder, or the Milvus URI and alias."""
    if uses_milvus(settings):
        return (f"Milvus {milvus_store.milvus_uri(settings)!r} (alias "
                f"{settings.milvus_collection!r})")
    return str(settings.index_dir)
