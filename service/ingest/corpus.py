"""Read a corpus folder into ``Document``s.

``.txt`` / ``.md`` may start with YAML front matter; ``.jsonl`` holds one document
per line (``{"id", "title", "text", ...metadata}``); ``.pdf``, ``.docx`` and
``.html`` go through text extraction, with metadata in an optional sidecar
``NAME.EXT.meta.yaml``. A document's id is its ``id`` field, else its path
relative to the corpus folder without the extension. With an ``ExtractionCache`` an
unchanged file is not extracted again; its sidecar is always read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.core.errors import CorpusError, ServiceError
from service.core.hashing import sha256_hex
from service.core.models import Document
from service.ingest.cleaning import clean_text
from service.ingest.extraction import ExtractLimits, extract
from service.ingest.metadata import check_metadata, load_yaml_mapping
from service.ingest.readers.encodings import decode_text

if TYPE_CHECKING:
    from service.ingest.extraction_cache import ExtractionCache

TEXT_SUFFIXES = (".txt", ".md")
EXTRACTED_SUFFIXES = (".pdf", ".docx", ".html", ".htm")
CORPUS_SUFFIXES = TEXT_SUFFIXES + EXTRACTED_SUFFIXES + (".jsonl",)
SIDECAR_SUFFIX = ".meta.yaml"
KNOWN_FIELDS = ("id", "title", "text", "source", "date", "tags")
FENCE = "---"
log = logging.getLogger("policybot")


@dataclass(frozen=True)
class Skipped:
    """A corpus file left out of a build, and why (the message names the file)."""

    path: str  # relative to the corpus folder
    reason: str

    def __str__(self) -> str:
        return self.reason if self.path in self.reason else f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class CorpusContents:
    documents: list[Document]
    skipped: list[Skipped]


def load_corpus(
    corpus_dir: Path, extraction_cache: ExtractionCache | None = None
) -> list[Document]:
    """All documents under ``corpus_dir``, sorted by id; any unreadable file or duplicate
    id is an error (``read_corpus`` skips them instead)."""
    return read_corpus(corpus_dir, extraction_cache, strict=True).documents


def read_corpus(
    corpus_dir: Path, extraction_cache: ExtractionCache | None = None, *, strict: bool = False
) -> CorpusContents:
    """The documents under ``corpus_dir``, sorted by id, and the files that were skipped:
    one that cannot be read, or whose id another file already has, never stops the rest."""
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus folder {str(corpus_dir)!r} does not exist; "
            "create it or set POLICYBOT_CORPUS_DIR / --corpus"
        )
    seen: dict[str, str] = {}
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for path in corpus_files(corpus_dir):
        relative = path.relative_to(corpus_dir).as_posix()
        try:
            found = list(read_file(path, corpus_dir, extraction_cache))
            _check_unique(found, seen)
        except Exception as exc:
            if strict:
                raise
            skipped.append(Skipped(relative, _reason(exc, relative)))
            continue
        for document in found:
            seen[document.id] = document.path
        documents.extend(found)
    return CorpusContents(sorted(documents, key=lambda d: d.id), skipped)


def _check_unique(documents: list[Document], seen: dict[str, str]) -> None:
    ids: dict[str, str] = {}
    for document in documents:
        earlier = seen.get(document.id) or ids.get(document.id)
        if earlier is not None:
            raise CorpusError(
                f"duplicate document id {document.id!r} in {earlier} and {document.path}; "
                "give one of them another id"
            )
        ids[document.id] = document.path


def _reason(exc: Exception, relative: str) -> str:
    if isinstance(exc, ServiceError):
        return exc.message
    log.warning("skipped %s: %s", relative, exc, exc_info=not isinstance(exc, OSError | ValueError))
    return f"{relative}: could not be read ({type(exc).__name__}: {exc})"


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Indexable files below ``corpus_dir`` (hidden files and sidecars skipped)."""
    files = []
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower() in CORPUS_SUFFIXES and not path.name.endswith(SIDECAR_SUFFIX):
            files.append(path)
    return files


def read_file(
    path: Path, corpus_dir: Path, extraction_cache: ExtractionCache | None = None
) -> Iterator[Document]:
    data = path.read_bytes()
    relative = path.relative_to(corpus_dir).as_posix()
    default_id = relative.rsplit(".", 1)[0]
    suffix = path.suffix.lower()
    limits = extraction_cache.limits if extraction_cache is not None else ExtractLimits()
    if suffix == ".jsonl":
        yield from _read_jsonl(data, relative, limits)
    elif suffix in TEXT_SUFFIXES:
        yield _read_text(data, relative, default_id, limits)
    else:
        yield _read_extracted(path, data, relative, default_id, extraction_cache)


def parse_front_matter(text: str, where: str) -> tuple[dict[str, Any], str]:
    """Split YAML front matter from the body. It opens with a first line that is exactly
    ``---`` and closes at the next such line; any other first line (a ``--------`` rule)
    is body text."""
    first, _, rest = text.partition("\n")
    if first.rstrip() != FENCE:
        return {}, text
    lines = rest.split("\n")
    end = next((number for number, line in enumerate(lines) if line.rstrip() == FENCE), None)
    if end is None:
        raise CorpusError(
            f"{where}: front matter starts with '---' but never ends; add a '---' line"
        )
    meta = load_yaml_mapping("\n".join(lines[:end]), where, "front matter")
    return meta, "\n".join(lines[end + 1:])


def make_document(
    meta: dict[str, Any], body: str, relative: str, default_id: str, sha: str
) -> Document:
    """A document from ``meta`` as ``metadata.check_metadata`` returns it, and its text."""
    text = clean_text(body)
    doc_id = str(meta.get("id") or default_id).strip()
    title = str(meta.get("title") or _first_line(text) or doc_id).strip()
    tags = meta.get("tags") or ()
    extra = {k: v for k, v in meta.items() if k not in KNOWN_FIELDS}
    return Document(
        id=doc_id, title=title, text=text, source=str(meta.get("source") or ""),
        date=str(meta.get("date") or ""), tags=tuple(str(t) for t in tags),
        path=relative, sha256=sha, meta=extra,
    )


def _read_text(data: bytes, relative: str, default_id: str, limits: ExtractLimits) -> Document:
    text = decode_text(data)
    limits.check_chars(relative, text)
    meta, body = parse_front_matter(text, relative)
    return make_document(check_metadata(meta, relative), body, relative, default_id,
                         sha256_hex(data))


def _read_extracted(
    path: Path, data: bytes, relative: str, default_id: str,
    extraction_cache: ExtractionCache | None,
) -> Document:
    digest = sha256_hex(data)
    if extraction_cache is None:
        extracted = extract(path.name, data)
    else:
        extracted = extraction_cache.extract(path.name, data, digest)
    meta = _read_sidecar(path, relative)
    meta.setdefault("title", extracted.title)
    return make_document(meta, extracted.text, relative, default_id, digest)


def _read_sidecar(path: Path, relative: str) -> dict[str, Any]:
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.exists():
        return {}
    where = relative + SIDECAR_SUFFIX
    try:
        text = sidecar.read_text("utf-8")
    except UnicodeDecodeError:
        raise CorpusError(f"{where}: the sidecar is not UTF-8; save it as UTF-8") from None
    return check_metadata(load_yaml_mapping(text, where, "sidecar"), where)


def _read_jsonl(data: bytes, relative: str, limits: ExtractLimits) -> Iterator[Document]:
    try:
        lines = data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise CorpusError(f"{relative}: a .jsonl file must be UTF-8; save it as UTF-8") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{relative} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not record.get("id") or "text" not in record:
            raise CorpusError(f'{where}: each line needs {{"id", "title", "text"}}')
        meta = check_metadata(record, where)
        text = meta.get("text", "")
        limits.check_chars(where, text)
        yield make_document(meta, text, relative, meta["id"], sha256_hex(line.encode("utf-8")))


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0][:80]
