"""Index versions in Milvus: one set of collections per version, an alias on the current one.

    <prefix>_v<version>        passages (the alias <prefix> points here): row (primary key),
                               passage_id, text, meta (JSON: the other Passage fields), doc
                               (document row), dense (FLOAT_VECTOR, IP), words and chars
                               (SPARSE_FLOAT_VECTOR, IP: the BM25 impacts bm25.py computes,
                               one dimension per vocabulary term)
    <prefix>_v<version>_docs   documents: row (primary key), document_id, chars (character
                               BM25 impacts of title and whole text: the document channel)
    <prefix>_v<version>_meta   the manifest and the three vocabularies (terms, document
                               frequencies, rows) as JSON cut in parts, then a ``complete`` row

A version is written whole, its ``complete`` row last, before the alias moves to it (the same
atomic switch as index/CURRENT): a build that dies leaves unaliased collections without that
row, which the next build drops. Nodes read everything from Milvus (no index folder); they
follow the alias when they start and when they poll. One build at a time across nodes needs
the shared database's lock (``POLICYBOT_DATABASE_URL``); without it the lock is a local file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from service.core.errors import NotReady, ServiceError
from service.core.models import Passage
from service.core.settings import Settings
from service.index.bm25 import BM25Index, TermStatistics
from service.index.vector_index import IndexSpec

BATCH = 1000  # rows per insert
PART_CHARS = 60_000  # JSON characters per meta row (VARCHAR holds 65535 bytes; JSON is ASCII)
EMPTY_DIMENSION = 2**32 - 2  # a passage without terms: Milvus refuses empty sparse vectors
VOCABULARIES = ("words", "chars", "docs")
COMPLETE = "complete"
_VERSION = re.compile(r"^(\d{8}T\d+Z)_([0-9a-f]+)$")


@dataclass(frozen=True)
class VersionCollections:
    passages: str
    docs: str
    meta: str

    @classmethod
    def of(cls, prefix: str, version: str) -> VersionCollections:
        base = f"{prefix}_v{version.replace('-', '_')}"
        return cls(base, f"{base}_docs", f"{base}_meta")

    def all(self) -> tuple[str, str, str]:
        return (self.passages, self.docs, self.meta)


def milvus_uri(settings: Settings) -> str:
    """The URI to connect to; empty means Milvus Lite in ``data_dir/milvus.db``."""
    return settings.milvus_uri or str(settings.data_dir / "milvus.db")


def client_for(settings: Settings) -> Any:
    """A MilvusClient for the settings (one per URI and process), or a clear error naming
    ``POLICYBOT_MILVUS_URI`` and what to do."""
    uri, token = milvus_uri(settings), settings.milvus_token.get_secret_value()
    remote = uri.startswith(("http://", "https://", "tcp://", "unix:"))
    if not remote and not uri.endswith(".db"):
        raise NotReady(f"POLICYBOT_MILVUS_URI={uri!r} is neither a server address nor a Milvus "
                       "Lite file: give http://host:19530, or a local path ending in .db "
                       "(e.g. data/milvus.db)")
    if not remote:
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return _client(uri, token)
    except ImportError as exc:
        raise NotReady("POLICYBOT_VECTOR_STORE=milvus needs pymilvus (and milvus-lite for a "
                       "local .db file): pip install 'policybot[milvus]'") from exc
    except Exception as exc:  # pymilvus raises MilvusException subclasses, grpc errors
        raise NotReady(_connect_error(uri, remote, exc)) from exc


@lru_cache(maxsize=8)
def _client(uri: str, token: str) -> Any:
    from pymilvus import MilvusClient

    return MilvusClient(uri=uri, token=token, timeout=10)


def _connect_error(uri: str, remote: bool, exc: Exception) -> str:
    reason = getattr(exc, "message", None) or str(exc)
    if remote:
        return (f"cannot reach Milvus at POLICYBOT_MILVUS_URI={uri!r} ({reason}); start it "
                "(e.g. `milvus-lite server --data-dir D --host 127.0.0.1 --port 19530`), fix the "
                "address or POLICYBOT_MILVUS_TOKEN, or set POLICYBOT_VECTOR_STORE=faiss")
    return (f"cannot open Milvus Lite at POLICYBOT_MILVUS_URI={uri!r} ({reason}); a .db folder "
            "serves one process: for several workers or nodes start `milvus-lite server "
            f"--data-dir {uri} --host 127.0.0.1 --port 19530` and set "
            "POLICYBOT_MILVUS_URI=http://127.0.0.1:19530")


# ---- versions and the alias ---------------------------------------------------------------


def current_version(client: Any, prefix: str) -> str | None:
    """The version the alias ``prefix`` points at, or None before the first build."""
    if prefix not in client.list_aliases().get("aliases", []):
        return None
    collection = client.describe_alias(prefix)["collection_name"]
    return version_of(prefix, collection)


def version_of(prefix: str, collection: str) -> str | None:
    """``<prefix>_v20240101T000000Z_abc123`` -> ``20240101T000000Z-abc123``."""
    if not collection.startswith(f"{prefix}_v"):
        return None
    match = _VERSION.match(collection[len(prefix) + 2:])
    return f"{match[1]}-{match[2]}" if match else None


def stored_versions(client: Any, prefix: str) -> list[str]:
    """Every version with a collection under ``prefix``, complete or not, oldest first."""
    found = {version_of(prefix, name.removesuffix("_docs").removesuffix("_meta"))
             for name in client.list_collections()}
    return sorted(v for v in found if v)


def is_complete(client: Any, prefix: str, version: str) -> bool:
    meta = VersionCollections.of(prefix, version).meta
    if not client.has_collection(meta):
        return False
    client.load_collection(meta)
    return bool(client.query(meta, filter=f'name == "{COMPLETE}"', output_fields=["part"],
                             consistency_level="Strong"))


def switch_alias(client: Any, prefix: str, version: str) -> None:
    """Point the alias at ``version``: one call, readers see the old version or the new."""
    target = VersionCollections.of(prefix, version).passages
    if prefix in client.list_aliases().get("aliases", []):
        client.alter_alias(collection_name=target, alias=prefix)
    else:
        client.create_alias(collection_name=target, alias=prefix)


def prune(client: Any, prefix: str, keep: int) -> list[str]:
    """Drop all but the newest ``keep`` complete versions (never the current one)."""
    current = current_version(client, prefix)
    complete = [v for v in stored_versions(client, prefix) if is_complete(client, prefix, v)]
    doomed = [v for v in complete[:-keep] if v != current] if keep else []
    for version in doomed:
        drop_version(client, prefix, version)
    return doomed


def remove_stale_builds(client: Any, prefix: str) -> list[str]:
    """Versions a dead build left half-written (no ``complete`` row); never the current."""
    current = current_version(client, prefix)
    stale = [v for v in stored_versions(client, prefix)
             if v != current and not is_complete(client, prefix, v)]
    for version in stale:
        drop_version(client, prefix, version)
    return stale


def drop_version(client: Any, prefix: str, version: str) -> None:
    """Meta first: a version dropped half-way reads as incomplete and goes at the next build."""
    names = VersionCollections.of(prefix, version)
    for name in (names.meta, names.docs, names.passages):
        if client.has_collection(name):
            client.drop_collection(name)


# ---- writing a version --------------------------------------------------------------------


@dataclass(frozen=True)
class VersionData:
    """Everything a build computed for one version."""

    version: str
    manifest: dict[str, Any]
    passages: list[Passage]
    vectors: np.ndarray  # float32, one normalised row per passage
    spec: IndexSpec
    words: BM25Index
    chars: BM25Index
    docs: BM25Index  # rows = documents
    passage_docs: np.ndarray  # int32 document row of each passage
    document_ids: list[str]  # id of each document row


def write_version(client: Any, prefix: str, data: VersionData) -> None:
    """Create and fill the version's collections, ``complete`` row last (no alias yet)."""
    names = VersionCollections.of(prefix, data.version)
    try:
        _create_passages(client, names.passages, data.vectors.shape[1], data.spec)
        _insert(client, names.passages, _passage_rows(data))
        _create_docs(client, names.docs)
        _insert(client, names.docs, _document_rows(data))
        _create_meta(client, names.meta)
        _insert(client, names.meta, _meta_rows(data))
        for name in names.all():
            client.flush(name)
        _insert(client, names.meta, [_meta_row(COMPLETE, 0, data.version)])
        client.flush(names.meta)
    except BaseException:
        drop_version(client, prefix, data.version)
        raise


def dense_index(spec: IndexSpec) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(Milvus index type, build params, search params) for the FAISS ``spec`` a build chose:
    exact search where FAISS compares every vector, IVF_SQ8 with its lists and probes beyond."""
    if spec.kind == "ivf-sq8":
        return ("IVF_SQ8", {"nlist": spec.params["nlist"]}, {"nprobe": spec.params["nprobe"]})
    return ("FLAT", {}, {})


def _schema(client: Any) -> Any:
    return client.create_schema(auto_id=False, enable_dynamic_field=False)


def _create_passages(client: Any, name: str, dim: int, spec: IndexSpec) -> None:
    from pymilvus import DataType

    schema = _schema(client)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("passage_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("text", DataType.VARCHAR, max_length=65535)
    schema.add_field("meta", DataType.JSON)
    schema.add_field("doc", DataType.INT32)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("words", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("chars", DataType.SPARSE_FLOAT_VECTOR)
    kind, params, _ = dense_index(spec)
    indexes = client.prepare_index_params()
    indexes.add_index("dense", index_type=kind, metric_type="IP", params=params)
    for field in ("words", "chars"):
        indexes.add_index(field, index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    _create(client, name, schema, indexes)


def _create_docs(client: Any, name: str) -> None:
    from pymilvus import DataType

    schema = _schema(client)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("document_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("chars", DataType.SPARSE_FLOAT_VECTOR)
    indexes = client.prepare_index_params()
    indexes.add_index("chars", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    _create(client, name, schema, indexes)


def _create_meta(client: Any, name: str) -> None:
    """Key-value rows; Milvus wants a vector field in every collection (an unused one)."""
    from pymilvus import DataType

    schema = _schema(client)
    schema.add_field("key", DataType.VARCHAR, max_length=128, is_primary=True)
    schema.add_field("name", DataType.VARCHAR, max_length=64)
    schema.add_field("part", DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=65535)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    indexes = client.prepare_index_params()
    indexes.add_index("unused", index_type="FLAT", metric_type="L2")
    _create(client, name, schema, indexes)


def _create(client: Any, name: str, schema: Any, indexes: Any) -> None:
    """The collection, its indexes declared on it while empty (pymilvus would poll each
    one's state every 0.5 s: ~2.5 s a version for nothing), loaded for search."""
    client.create_collection(name, schema=schema, consistency_level="Bounded")
    client.create_index(name, indexes, sync=False)
    client.load_collection(name)


def _insert(client: Any, name: str, rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            client.insert(name, batch)
            batch = []
    if batch:
        client.insert(name, batch)


def sparse(terms: list[int], impacts: list[float]) -> dict[int, float]:
    return dict(zip(terms, impacts, strict=True)) if terms else {EMPTY_DIMENSION: 1.0}


def _passage_rows(data: VersionData) -> Iterator[dict[str, Any]]:
    words, chars = data.words.row_impacts(), data.chars.row_impacts()
    for row, passage in enumerate(data.passages):
        fields = asdict(passage)
        yield {"row": row, "passage_id": fields.pop("id"), "text": fields.pop("text"),
               "meta": fields, "doc": int(data.passage_docs[row]),
               "dense": data.vectors[row].tolist(), "words": sparse(*words[row]),
               "chars": sparse(*chars[row])}


def _document_rows(data: VersionData) -> Iterator[dict[str, Any]]:
    for row, (terms, impacts) in enumerate(data.docs.row_impacts()):
        yield {"row": row, "document_id": data.document_ids[row], "chars": sparse(terms, impacts)}


def _meta_rows(data: VersionData) -> Iterator[dict[str, Any]]:
    vocabularies = {"words": data.words, "chars": data.chars, "docs": data.docs}
    yield from _parts("manifest", data.manifest)
    for name, index in vocabularies.items():
        terms = sorted(index.vocabulary, key=index.vocabulary.__getitem__)
        yield from _parts(name, {"terms": terms, "df": np.diff(index.offsets).tolist(),
                                 "size": index.size, "analyzer": index.analyzer})


def _parts(name: str, value: Any) -> Iterator[dict[str, Any]]:
    text = json.dumps(value)  # ASCII: characters are bytes, so a part fits VARCHAR(65535)
    for part, start in enumerate(range(0, max(len(text), 1), PART_CHARS)):
        yield _meta_row(name, part, text[start:start + PART_CHARS])


def _meta_row(name: str, part: int, text: str) -> dict[str, Any]:
    return {"key": f"{name}#{part:06d}", "name": name, "part": part, "text": text,
            "unused": [0.0, 0.0]}


# ---- reading a version --------------------------------------------------------------------


@dataclass(frozen=True)
class StoredVersion:
    version: str
    names: VersionCollections
    manifest: dict[str, Any]
    passages: list[Passage]
    passage_docs: np.ndarray
    statistics: dict[str, TermStatistics]  # words, chars, docs


def read_meta(client: Any, names: VersionCollections, name: str) -> Any:
    rows = client.query(names.meta, filter=f'name == "{name}"', output_fields=["part", "text"],
                        limit=16384, consistency_level="Strong")
    if not rows:
        raise NotReady(f"Milvus collection {names.meta!r} has no {name!r}; run "
                       "`policybot reindex`")
    return json.loads("".join(r["text"] for r in sorted(rows, key=lambda r: r["part"])))


def read_manifest(client: Any, prefix: str, version: str) -> dict[str, Any]:
    names = VersionCollections.of(prefix, version)
    client.load_collection(names.meta)
    return read_meta(client, names, "manifest")  # type: ignore[no-any-return]


def read_version(client: Any, prefix: str, version: str) -> StoredVersion:
    """The manifest, passages and vocabularies of a complete ``version``."""
    names = VersionCollections.of(prefix, version)
    if not all(client.has_collection(n) for n in names.all()) or \
            not is_complete(client, prefix, version):
        raise NotReady(f"index version {version!r} is missing or half-written in Milvus "
                       f"({names.passages!r}); run `policybot reindex`")
    for name in names.all():
        client.load_collection(name)
    manifest = read_meta(client, names, "manifest")
    statistics = {name: _statistics(read_meta(client, names, name)) for name in VOCABULARIES}
    passages, passage_docs = _read_passages(client, names.passages,
                                            int(manifest["passage_count"]))
    return StoredVersion(version, names, manifest, passages, passage_docs, statistics)


def _statistics(stored: dict[str, Any]) -> TermStatistics:
    vocabulary = {term: row for row, term in enumerate(stored["terms"])}
    return TermStatistics(vocabulary, np.asarray(stored["df"], dtype=np.int64),
                          int(stored["size"]), stored["analyzer"])


def _read_passages(client: Any, name: str, count: int) -> tuple[list[Passage], np.ndarray]:
    """Every passage in row order, read a page of rows at a time."""
    passages: list[Passage | None] = [None] * count
    docs = np.zeros(count, dtype=np.int32)
    for start in range(0, count, BATCH):
        rows = client.query(name, filter=f"row >= {start} and row < {start + BATCH}",
                            output_fields=["passage_id", "text", "meta", "doc"],
                            limit=BATCH, consistency_level="Strong")
        for row in rows:
            passages[row["row"]] = Passage(id=row["passage_id"], text=row["text"], **row["meta"])
            docs[row["row"]] = row["doc"]
    if any(p is None for p in passages):
        raise ServiceError(f"Milvus collection {name!r} lacks passages its manifest counts; "
                           "run `policybot reindex`", status=503)
    return passages, docs  # type: ignore[return-value]
