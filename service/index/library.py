"""Add, replace and remove policy documents in the corpus folder, then reindex.

The admin API and the CLI both call these functions, so an upload and ``policybot add``
leave the same files behind. Originals are kept under ``<corpus>/uploads/`` so that a full
reindex rebuilds the same index. Metadata goes where ``corpus.py`` reads it: YAML front
matter for .txt/.md, a ``NAME.EXT.meta.yaml`` sidecar for PDF, DOCX and HTML; a .jsonl
file carries its own on every line.

Every change runs under the index build lock: the new file is staged in a hidden folder
and read with the corpus reader, moved into place (setting aside the file it replaces),
and the index is rebuilt; if the rebuild fails the corpus is put back as it was. With a
shared database (POLICYBOT_DATABASE_URL) the uploads folder is first brought in line with
the database's copy, and the change is recorded there before the rebuild (shared_uploads.py).
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from service.core.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, Unprocessable
from service.core.models import Document
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.index.build import BuildResult, Progress, rebuild
from service.index.build_lock import build_lock
from service.index.shared_uploads import SharedUploads, shared_uploads_for
from service.index.vector_store import current_manifest, version_manifest
from service.ingest.chunking import ChunkingParams, chunk_document
from service.ingest.corpus import SIDECAR_SUFFIX, TEXT_SUFFIXES, parse_front_matter, read_file
from service.ingest.extraction import SUPPORTED_SUFFIXES, decode_text, extract, safe_filename
from service.ingest.extraction_cache import ExtractionCache, extraction_cache_for
from service.ingest.metadata import DATE_FIELDS, policy_date
from service.ingest.policy_facts import POLICY_FIELDS

UPLOADS = "uploads"
UPLOAD_SUFFIXES = (*SUPPORTED_SUFFIXES, ".jsonl")
STAGING = ".incoming"  # hidden, so the corpus reader never sees half-finished changes
MAX_ID_CHARS = 200
MAX_FIELD_CHARS = 300
MAX_NAME_TRIES = 100
MAX_STEM_CHARS = 80  # of a file name made from a title or id
_ID_PART = re.compile(r"[\w.-]+")  # \w is Unicode: Chinese ids are fine


@dataclass(frozen=True)
class DocumentMeta:
    """Fields an uploader may set; None keeps the corpus default (id from the path, title
    from the text, policy facts read from the text)."""

    id: str | None = None
    title: str | None = None
    source: str | None = None
    date: str | None = None
    agency: str | None = None
    doc_number: str | None = None
    issued: str | None = None  # YYYY-MM-DD, like effective and expires
    effective: str | None = None
    expires: str | None = None
    replaces: tuple[str, ...] | None = None  # ids or document numbers

    def given(self) -> dict[str, Any]:
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class Added:
    document_id: str
    title: str
    passages: int
    document_ids: tuple[str, ...]  # every document of the file (a .jsonl may hold several)
    created: bool  # False: the same content was already indexed and nothing changed


@dataclass(frozen=True)
class _Upload:
    name: str  # safe file name; stored as uploads/<name> unless that is taken
    data: bytes
    sidecar: dict[str, str]
    meta: DocumentMeta


def add_file(settings: Settings, embedder: Embedder, filename: str, data: bytes,
             meta: DocumentMeta | None = None, *, wait: bool = False,
             on_progress: Progress | None = None) -> Added:
    """Check that an uploaded file extracts, store it under uploads/ and reindex."""
    name = safe_filename(filename)
    check_size(name, len(data), settings)
    meta = clean_meta(meta or DocumentMeta())
    suffix = Path(name).suffix.lower()
    if suffix == ".jsonl":
        if meta.given():
            raise BadRequest(f"{name}: a .jsonl file carries its metadata (id, title, source, "
                             "date, agency, …) on each line; leave those fields out")
        if not data.strip():
            raise Unprocessable(f"{name}: the file is empty; upload a file with the policy text")
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Unprocessable(f"{name}: a .jsonl file must be UTF-8; save it as UTF-8 and "
                                "upload it again") from None
        return _store(settings, embedder, _Upload(name, data, {}, meta), wait, on_progress)
    # Refuses unsupported, empty, damaged, encrypted and image-only files. A PDF, DOCX or HTML
    # file goes through the cache, so staging and the rebuild reuse this one parse.
    if suffix in TEXT_SUFFIXES:
        extract(name, data)
    else:
        extraction_cache_for(settings).extract(name, data)
    if suffix in TEXT_SUFFIXES:
        return _store(settings, embedder, _Upload(name, _with_front_matter(data, meta), {}, meta),
                      wait, on_progress)
    return _store(settings, embedder, _Upload(name, data, meta.given(), meta), wait, on_progress)


def add_text(settings: Settings, embedder: Embedder, text: str, meta: DocumentMeta, *,
             wait: bool = False, on_progress: Progress | None = None) -> Added:
    """Store text sent as JSON as a .txt file with front matter, and reindex."""
    meta = clean_meta(meta)
    if not meta.title:
        raise BadRequest("title: is required; send the policy's title")
    if not text.strip():
        raise Unprocessable("text: is empty; send the policy text")
    stem = re.sub(r"[^\w.-]+", "-", meta.id or meta.title).strip(".-")[:MAX_STEM_CHARS]
    name = f"{stem or 'document'}.txt"
    data = (_front_matter(meta.given()) + text).encode("utf-8")
    check_size(name, len(data), settings)
    return _store(settings, embedder, _Upload(name, data, {}, meta), wait, on_progress)


def remove_document(settings: Settings, embedder: Embedder, document_id: str, *,
                    wait: bool = False, on_progress: Progress | None = None) -> BuildResult:
    """Delete the file of ``document_id`` from the corpus and reindex."""
    with _corpus_change(settings, wait) as change:
        indexed = indexed_documents(settings)
        if document_id not in indexed:
            raise NotFound(f"no document with id {document_id!r}; the document list shows "
                           "the ids")
        relative = indexed[document_id]["path"]
        others = [i for i, meta in indexed.items() if meta["path"] == relative and i != document_id]
        if others:
            raise Conflict(f"document {document_id!r} is one line of {relative} with "
                           f"{len(others)} other documents; edit that file and run a reindex")
        change.set_aside(relative)
        return change.rebuild(settings, embedder, on_progress)


def indexed_documents(settings: Settings) -> dict[str, dict[str, Any]]:
    """The manifest entries of the version CURRENT names, by id (empty before the first build)."""
    manifest = current_manifest(settings)
    return manifest["documents"] if manifest is not None else {}


def check_size(name: str, size: int, settings: Settings) -> None:
    if size > settings.max_upload_bytes:
        raise PayloadTooLarge(f"{name} is {size} bytes; the upload limit is "
                              f"{settings.max_upload_bytes} bytes (POLICYBOT_MAX_UPLOAD_BYTES)")


def clean_meta(meta: DocumentMeta) -> DocumentMeta:
    """Trimmed one-line fields; an empty field counts as not given; the id is checked, dates
    must be YYYY-MM-DD."""
    values: dict[str, Any] = {}
    for field, value in meta.given().items():
        if field == "replaces":
            replaced = tuple(r for r in (_one_line(field, str(v)) for v in value) if r)
            if replaced:
                values[field] = replaced
            continue
        text = _one_line(field, value)
        if not text:
            continue
        values[field] = policy_date(field, text) if field in DATE_FIELDS else text
    if "id" in values:
        check_document_id(values["id"])
    return DocumentMeta(**values)


def split_replaces(text: str | None) -> tuple[str, ...] | None:
    """A form field or CLI value listing replaced notices, separated by commas or spaces."""
    if text is None:
        return None
    return tuple(part for part in re.split(r"[,，;；\s]+", text) if part)


def _one_line(field: str, value: str) -> str:
    text = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise BadRequest(f"{field}: contains a line break or control character; send one line")
    if len(text) > MAX_FIELD_CHARS:
        raise BadRequest(f"{field}: is {len(text)} characters long; at most "
                         f"{MAX_FIELD_CHARS} are allowed")
    return text


def check_document_id(document_id: str) -> str:
    """Ids are names like ``policies/2024/科技创新``: no leading ``/``, no ``.`` or ``..`` parts."""
    parts = document_id.split("/")
    if len(document_id) > MAX_ID_CHARS or not all(
        _ID_PART.fullmatch(part) and not part.startswith(".") for part in parts
    ):
        raise BadRequest(
            f"id {document_id[:80]!r} is not allowed: use letters, digits, '-', '_' and '.' in "
            f"parts joined by '/', no part may start with '.', at most {MAX_ID_CHARS} characters"
        )
    return document_id


# ---- storing an upload --------------------------------------------------------------------


def _store(settings: Settings, embedder: Embedder, upload: _Upload, wait: bool,
           on_progress: Progress | None = None) -> Added:
    with _corpus_change(settings, wait) as change:
        indexed = indexed_documents(settings)
        for relative in _candidate_paths(upload.name):
            documents = change.stage(relative, upload)
            _refuse_name_clash(upload, relative, documents, indexed)
            existing = _already_indexed(documents, upload.meta, indexed)
            if existing is not None:
                return existing
            replaced = _replaced_files(documents, indexed, relative)
            if relative in replaced or not change.exists(relative):
                break
        else:
            raise Conflict(f"{upload.name}: too many files of that name in {UPLOADS}/; rename it")
        for path in replaced:
            change.set_aside(path)
        change.put(relative)
        result = change.rebuild(settings, embedder, on_progress)
    documents_now = (version_manifest(settings, result.version) or {"documents": {}})["documents"]
    return _added([d.id for d in documents], documents_now, created=True)


def _refuse_name_clash(upload: _Upload, relative: str, documents: list[Document],
                       indexed: dict[str, dict[str, Any]]) -> None:
    """409 when the id the file's name gives (``x.pdf`` -> ``uploads/x``) is a document of
    another file (``x.docx``): the same policy in two formats would answer twice, and a
    silent replace would lose the other file. An id given with the upload or in the file
    replaces on purpose."""
    implicit_id = relative.rsplit(".", 1)[0]
    if upload.meta.id is not None or len(documents) != 1 or documents[0].id != implicit_id:
        return
    existing = indexed.get(implicit_id, {}).get("path")
    if existing is not None and existing != relative:
        raise Conflict(
            f"{upload.name}: document {implicit_id!r} already comes from {existing}; to replace "
            f"it, send this file with id {implicit_id!r} (form field id, or policybot add "
            f"--id), or remove it first (DELETE /api/v1/documents/{implicit_id}); to keep "
            "both, rename this file"
        )


def _candidate_paths(name: str) -> Iterator[str]:
    """uploads/NAME, then uploads/STEM-2.EXT, ... when NAME belongs to another document."""
    stem, suffix = Path(name).stem, Path(name).suffix
    yield f"{UPLOADS}/{name}"
    for number in range(2, MAX_NAME_TRIES):
        yield f"{UPLOADS}/{stem}-{number}{suffix}"


def _already_indexed(documents: list[Document], meta: DocumentMeta,
                     indexed: dict[str, dict[str, Any]]) -> Added | None:
    """The indexed document(s) with the same bytes and metadata, if there are any.

    The same single file under another id is refused rather than indexed twice.
    """
    if all(indexed.get(d.id, {}).get("sha256") == d.sha256 and _same_meta(d, indexed[d.id])
           for d in documents):
        return _added([d.id for d in documents], indexed, created=False)
    if len(documents) != 1 or documents[0].path.endswith(".jsonl"):
        return None
    document = documents[0]
    twins = [i for i, m in indexed.items() if m["sha256"] == document.sha256 and i != document.id]
    if not twins or document.id in indexed:  # same id: a metadata update, replaced below
        return None
    if meta.id is None and _same_meta(document, indexed[twins[0]]):
        return _added([twins[0]], indexed, created=False)
    raise Conflict(f"the same file is already indexed as document {twins[0]!r}; remove it "
                   f"first or upload it with id {twins[0]!r} to change its metadata")


def _same_meta(document: Document, entry: dict[str, Any]) -> bool:
    """Same title, source, date and declared policy facts (an upload that only changes an
    expiry date is a change)."""
    return all(getattr(document, f) == entry[f] for f in ("title", "source", "date")) and \
        _declared(document.meta) == _declared(entry.get("policy", {}), entry.get("policy", {})
                                              .get("declared", ()))


def _declared(values: dict[str, Any], names: Any = POLICY_FIELDS) -> dict[str, Any]:
    return {f: list(v) if isinstance(v, list | tuple) else v for f in names
            if f in POLICY_FIELDS and (v := values.get(f)) not in (None, "", [], ())}


def _replaced_files(documents: list[Document], indexed: dict[str, dict[str, Any]],
                    relative: str) -> set[str]:
    """Files holding documents the upload replaces (same id); a shared .jsonl is refused."""
    ids = {d.id for d in documents}
    replaced = {indexed[i]["path"] for i in ids if i in indexed}
    for path in replaced - {relative}:
        others = [i for i, m in indexed.items() if m["path"] == path and i not in ids]
        if others:
            raise Conflict(f"{path} also holds documents {others[:3]}; replacing one line of a "
                           ".jsonl file is not supported: edit that file and run a reindex")
    return replaced


def _added(ids: list[str], entries: dict[str, dict[str, Any]], created: bool) -> Added:
    first = entries[ids[0]]
    return Added(document_id=ids[0], title=first["title"],
                 passages=sum(entries[i]["passages"] for i in ids), document_ids=tuple(ids),
                 created=created)


def _with_front_matter(data: bytes, meta: DocumentMeta) -> bytes:
    """The text with ``meta`` merged into its front matter (unchanged bytes if none given)."""
    if not meta.given():
        return data
    front, body = parse_front_matter(decode_text(data), "the uploaded text")
    return (_front_matter({**front, **meta.given()}) + body).encode("utf-8")


def _front_matter(fields: dict[str, Any]) -> str:
    return "---\n" + yaml.safe_dump(fields, allow_unicode=True, sort_keys=False) + "---\n"


# ---- file moves that can be undone --------------------------------------------------------


@contextmanager
def _corpus_change(settings: Settings, wait: bool) -> Iterator[_CorpusChange]:
    """Hold the build lock while the corpus changes; undo every move if the block raises.

    Files staged or set aside live in ``<corpus>/.incoming``, removed at the end.
    """
    with build_lock(settings, wait=wait):
        settings.corpus_dir.mkdir(parents=True, exist_ok=True)
        corpus = settings.corpus_dir.resolve()
        work = corpus / STAGING
        shutil.rmtree(work, ignore_errors=True)  # left by a process that died mid-change
        shared = shared_uploads_for(settings)
        if shared is not None:
            shared.pull()
        params = ChunkingParams(settings.chunk_size, settings.chunk_overlap)
        change = _CorpusChange(corpus, work, extraction_cache_for(settings), params, shared)
        try:
            yield change
        except BaseException:
            change.undo()
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)


class _CorpusChange:
    """Moves inside the corpus folder that can be undone until the new index is published."""

    def __init__(self, corpus: Path, work: Path, extraction_cache: ExtractionCache,
                 chunking: ChunkingParams, shared: SharedUploads | None = None) -> None:
        self.corpus = corpus
        self.shared = shared
        self._pushed = False
        self.extraction_cache = extraction_cache  # the rebuild then reads the upload from it
        self.chunking = chunking
        self.staged = work / "staged"
        self.aside = work / "aside"
        self._moves: list[tuple[Path, Path]] = []  # (from, to), undone in reverse
        self._made_dirs: list[Path] = []

    def exists(self, relative: str) -> bool:
        return self._inside(self.corpus / relative).exists()

    def stage(self, relative: str, upload: _Upload) -> list[Document]:
        """Write the upload at ``relative`` in the staging folder and read it like the corpus."""
        shutil.rmtree(self.staged, ignore_errors=True)
        path = self.staged / relative
        path.parent.mkdir(parents=True)
        path.write_bytes(upload.data)
        if upload.sidecar:
            _sidecar(path).write_text(yaml.safe_dump(upload.sidecar, allow_unicode=True), "utf-8")
        documents = list(read_file(path, self.staged, self.extraction_cache))
        if not documents or not all(d.text.strip() for d in documents):
            raise Unprocessable(f"{upload.name}: no text was found in the file; check it has text")
        for document in documents:
            if not chunk_document(document, self.chunking):
                which = f" (document {document.id!r})" if len(documents) > 1 else ""
                raise Unprocessable(
                    f"{upload.name}{which}: no searchable passages came out of the text: it is "
                    "only headings (short lines such as 第一章 or 一、...); upload the full text"
                )
            if document.id != relative.rsplit(".", 1)[0]:
                check_document_id(document.id)
        return documents

    def put(self, relative: str) -> None:
        """Move the staged file (and its sidecar) to ``relative`` in the corpus."""
        source, target = self.staged / relative, self._inside(self.corpus / relative)
        self.set_aside(relative)  # an orphan sidecar there would otherwise apply to the new file
        self._make_parents(target)
        for staged, final in ((source, target), (_sidecar(source), _sidecar(target))):
            if staged.exists():
                self._move(staged, final)

    def set_aside(self, relative: str) -> None:
        """Move a corpus file (and its sidecar) out of the corpus, back if the change fails."""
        path = self._inside(self.corpus / relative)
        for original in (path, _sidecar(path)):
            if original.exists():
                kept = self.aside / original.relative_to(self.corpus)
                kept.parent.mkdir(parents=True, exist_ok=True)
                self._move(original, kept)

    def rebuild(self, settings: Settings, embedder: Embedder,
                on_progress: Progress | None) -> BuildResult:
        """Record the change in the shared database (if any), then rebuild the index."""
        if self.shared is not None:
            self._pushed = True
            self.shared.push()
        return rebuild(settings, embedder, progress=False, on_progress=on_progress)

    def _move(self, source: Path, target: Path) -> None:
        source.replace(target)
        self._moves.append((source, target))

    def undo(self) -> None:
        for source, target in reversed(self._moves):
            target.replace(source)
        for folder in reversed(self._made_dirs):
            if not any(folder.iterdir()):
                folder.rmdir()
        if self._pushed and self.shared is not None:
            self.shared.push()  # the shared copy is put back too

    def _make_parents(self, path: Path) -> None:
        missing = [p for p in path.parents if p.is_relative_to(self.corpus) and not p.exists()]
        for folder in reversed(missing):
            folder.mkdir()
            self._made_dirs.append(folder)

    def _inside(self, path: Path) -> Path:
        """``path`` if it resolves inside the corpus folder (a guard against traversal)."""
        if not path.resolve().is_relative_to(self.corpus) or path.resolve() == self.corpus:
            raise BadRequest(f"{path.name!r} would be written outside the corpus folder")
        return path


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)
