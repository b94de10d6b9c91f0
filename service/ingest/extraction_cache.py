"""Extracted text cached by file content, so an unchanged PDF, DOCX or HTML file is read once.

One small JSON file per entry, named by the SHA-256 of the file bytes and the file's suffix
(the suffix picks the reader). Entries are written to a temporary file and moved into place,
so the server and a ``policybot reindex`` running at once never see half an entry. An entry
that cannot be read, or that an older extractor wrote, is a miss. Failed extractions are not
stored: the file fails again, with the same message, on the next read.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from service.core.hashing import sha256_hex
from service.core.settings import Settings
from service.ingest.extraction import ExtractedText, ExtractLimits, extract

log = logging.getLogger(__name__)

# Bump whenever extraction can give a different result for the same bytes (extraction.py,
# readers/, a parser upgrade): entries written by another version are ignored.
EXTRACTOR_VERSION = 1


class ExtractionCache:
    """``extraction.extract`` (any reader) with its results kept in ``folder``.

    Misses are extracted one at a time across every process sharing ``folder`` (server
    workers, a CLI reindex), so two hostile files never hold the limits' memory at once.
    """

    def __init__(self, folder: Path, version: int = EXTRACTOR_VERSION,
                 limits: ExtractLimits | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.version = version
        self.limits = limits or ExtractLimits()

    def extract(self, filename: str, data: bytes, digest: str | None = None) -> ExtractedText:
        """The cached text of ``data``, else extract it (errors propagate) and store it.
        ``digest``: the SHA-256 of ``data`` when the caller has it already."""
        entry = self.entry_path(filename, data, digest)
        cached = self._load(entry)
        if cached is not None:
            return cached
        with self._one_at_a_time():
            cached = self._load(entry)  # another process may have just read the same file
            if cached is not None:
                return cached
            extracted = extract(filename, data, self.limits)
        self._store(entry, extracted)
        return extracted

    def entry_path(self, filename: str, data: bytes, digest: str | None = None) -> Path:
        """Where the text of ``data`` is kept; the suffix is part of the key, the name is not."""
        digest = digest or sha256_hex(data)
        suffix = os.path.splitext(filename)[1].lower().lstrip(".")
        return self.folder / f"{digest}.{suffix}.json"

    def prune(self, unused_since: float) -> int:
        """Delete the entries last read or written before ``unused_since`` (a Unix time, by
        the file's modification time, which a hit renews); how many."""
        pruned = 0
        for entry in self.folder.glob("*.json"):
            with suppress(OSError):  # gone already (another reindex), or not ours to delete
                if entry.stat().st_mtime < unused_since:
                    entry.unlink()
                    pruned += 1
        return pruned

    @contextmanager
    def _one_at_a_time(self) -> Iterator[None]:
        """An exclusive lock on the cache folder itself (no lock file is left behind)."""
        descriptor = os.open(self.folder, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the lock

    def _load(self, entry: Path) -> ExtractedText | None:
        try:
            record = json.loads(entry.read_bytes())
        except (OSError, ValueError):  # missing, unreadable, not UTF-8, not JSON
            return None
        extracted = _parse(record, self.version)
        if extracted is not None:
            with suppress(OSError):
                os.utime(entry)  # used now: prune keeps it
        return extracted

    def _store(self, entry: Path, extracted: ExtractedText) -> None:
        """Write the entry atomically; a cache that cannot be written only costs speed."""
        record = {"version": self.version, "title": extracted.title, "text": extracted.text,
                  "format": extracted.format}
        try:
            _write_atomically(entry, json.dumps(record, ensure_ascii=False).encode("utf-8"))
        except OSError as exc:
            log.warning("cannot cache extracted text in %s: %s", entry, exc)


def extraction_cache_for(settings: Settings) -> ExtractionCache:
    """The cache of ``settings``' data folder, shared by reindexing and uploads."""
    return ExtractionCache(settings.data_dir / "extracted", limits=extract_limits(settings))


def extract_limits(settings: Settings) -> ExtractLimits:
    return ExtractLimits(memory_mb=settings.extract_memory_mb, seconds=settings.extract_seconds,
                         max_chars=settings.extract_max_chars)


def _parse(record: object, version: int) -> ExtractedText | None:
    """The entry's text if it has the expected shape and version, else None."""
    if not isinstance(record, dict) or record.get("version") != version:
        return None
    title, text, fmt = (record.get(name) for name in ("title", "text", "format"))
    if not (isinstance(title, str) and isinstance(text, str) and isinstance(fmt, str)):
        return None
    return ExtractedText(title=title, text=text, format=fmt)


def _write_atomically(path: Path, content: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
