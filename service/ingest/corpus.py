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
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.core.errors import CorpusError
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


def load_corpus(
    corpus_dir: Path, extraction_cache: ExtractionCache | None = None
) -> list[Document]:
    """All documents under ``corpus_dir``, sorted by id; duplicate ids are an error."""
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus folder {str(corpus_dir)!r} does not exist; "
            "create it or set POLICYBOT_CORPUS_DIR / --corpus"
        )
    seen: dict[str, str] = {}
    documents: list[Document] = []
    for path in corpus_files(corpus_dir):
        for document in read_file(path, corpus_dir, extraction_cache):
            where = document.path
            if document.id in seen:
                raise CorpusError(
                    f"duplicate document id {document.id!r} in {seen[document.id]} and {where}; "
                    "give one of them another id"
                )
            seen[document.id] = where
            documents.append(document)
    return sorted(documents, key=lambda d: d.id)


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
    """Split ``---`` YAML front matter from the body."""
    if not text.startswith("---"):
        return {}, text
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise CorpusError(
            f"{where}: front matter starts with '---' but never ends; add a '---' line"
        )
    meta = load_yaml_mapping(parts[0][3:], where, "front matter")
    return meta, parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""


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
