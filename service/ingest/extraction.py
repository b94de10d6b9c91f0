"""Plain text and a title from uploaded policy documents, through the reader of the file's
suffix (``service.ingest.readers``): PDF, DOCX, HTML, TXT/MD."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass

from service.core.errors import BadRequest, Unprocessable, UnsupportedMedia
from service.ingest.readers import READERS, SUPPORTED_SUFFIXES
from service.ingest.readers.encodings import decode_text
from service.ingest.sandbox import ExtractLimits, sandbox_for

__all__ = ["SUPPORTED_SUFFIXES", "ExtractLimits", "ExtractedText", "decode_text", "extract",
           "safe_filename"]


@dataclass(frozen=True)
class ExtractedText:
    title: str  # PDF /Title, DOCX core title or first heading, HTML <title> or <h1>, else ""
    text: str  # headings on their own line, paragraphs separated by a blank line
    format: str  # "pdf" | "docx" | "html" | "text"


def extract(filename: str, data: bytes, limits: ExtractLimits | None = None) -> ExtractedText:
    """Extract text from an upload; every bad file becomes a 4xx ``ServiceError`` naming it.

    PDF, DOCX and HTML are parsed in the sandbox (``sandbox.py``) under ``limits`` (the
    defaults unless given); plain text is only decoded, here, and its length is checked.
    """
    limits = limits or ExtractLimits()
    name = safe_filename(filename)
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in READERS:
        kind = f"'{suffix}' files are" if suffix else "files without a suffix are"
        raise UnsupportedMedia(
            f"{name}: {kind} not supported; upload one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not data.strip():
        raise Unprocessable(f"{name}: the file is empty; upload a file that contains the policy")
    reader = READERS[suffix]
    if reader.format == "text":
        title, text = reader.read(name, data)
        limits.check_chars(name, text)
    else:
        title, text = sandbox_for(limits).read(suffix, name, data)
    text = _tidy(text)
    if not text:
        raise Unprocessable(f"{name}: no text was found in the file; check it opens and has text")
    return ExtractedText(title=_clean_title(title), text=text, format=reader.format)


# ---- file names ---------------------------------------------------------------------------

_MAX_NAME_BYTES = 200
_RESERVED = re.compile(r'[<>:"|?*]')  # not allowed in Windows names
_INVISIBLE = ("Cc", "Cf", "Cs")  # control, format (e.g. bidi overrides), lone surrogates


def safe_filename(name: str) -> str:
    """The base name of ``name`` with control characters, path parts and leading dots removed."""
    visible = "".join(
        ch
        for ch in unicodedata.normalize("NFC", name)
        if unicodedata.category(ch) not in _INVISIBLE
    )
    base = visible.replace("\\", "/").rsplit("/", 1)[-1]
    base = _RESERVED.sub("", base).lstrip(". ").rstrip(". ")
    if not base:
        raise BadRequest(
            f"{name[:80]!r}: the file name has nothing usable once path parts and control "
            "characters are removed; rename the file and upload it again"
        )
    return _truncate(base)


def _truncate(name: str) -> str:
    """Keep the name under ``_MAX_NAME_BYTES`` of UTF-8, cutting the stem, not the suffix."""
    if len(name.encode()) <= _MAX_NAME_BYTES:
        return name
    stem, suffix = os.path.splitext(name)
    budget = max(1, _MAX_NAME_BYTES - len(suffix.encode()))
    return stem.encode()[:budget].decode("utf-8", "ignore") + suffix


# ---- shared -------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufeff\ud800-\udfff]")  # and lone surrogates
_JUNK_TITLES = {"untitled", "无标题", "无标题文档", "document"}


def _tidy(text: str) -> str:
    """Unix newlines, plain spaces, no control characters or trailing spaces, single blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = _CONTROL.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _clean_title(title: str) -> str:
    """Drop placeholder titles and the "Microsoft Word - x.docx" wrapper PDF printers add."""
    title = " ".join(_CONTROL.sub("", title).split())
    title = re.sub(r"^Microsoft Word - ", "", title)
    title = re.sub(r"\.(docx?|wps|pdf)$", "", title, flags=re.IGNORECASE)
    return "" if title.lower() in _JUNK_TITLES else title
