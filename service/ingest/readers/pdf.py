"""Text from PDF bytes with pypdf, without running headers, footers and page numbers."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from pypdf import PageObject, PdfReader
from pypdf.errors import DependencyError
from pypdf.generic import ArrayObject, IndirectObject

from service.core.errors import PayloadTooLarge, ServiceError, Unprocessable

# How many lines at the top and at the bottom of a page may be running headers or footers.
EDGE_LINES = 2
# Drawing instructions the pages may hold in all, counting a stream shared by many pages once
# per page (text extraction parses it once per page, ~10 MB/s). Text PDFs hold well under
# 100 KB a page; a hostile one shares one huge stream between all its pages.
MAX_CONTENT_BYTES = 100 * 1024 * 1024

_NUMERAL = r"(?:\d{1,4}|[一二三四五六七八九十百零〇]{1,6})"
_PAGE_NUMBER = re.compile(
    rf"""^(?:
        [-—–－]?\s*\d{{1,4}}\s*[-—–－]?                    # 3   - 3 -   —3—
      | 第\s*{_NUMERAL}\s*页(?:\s*[,，/]?\s*共\s*{_NUMERAL}\s*页)?  # 第 3 页   第3页 共10页
      | 共\s*{_NUMERAL}\s*页\s*[,，]?\s*第\s*{_NUMERAL}\s*页     # 共10页 第3页
      | (?:page\s*)?\d{{1,4}}\s*(?:/|of)\s*\d{{1,4}}          # 3/10   Page 3 of 10
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


def pdf_text(name: str, data: bytes) -> tuple[str, str]:
    """Return ``(metadata title, text)``; pages are joined with newlines, lines are not re-flowed.

    Raises ``Unprocessable`` for encrypted, damaged and image-only PDFs.
    """
    with _pdf_errors(name):
        reader = PdfReader(io.BytesIO(data))
        _decrypt(name, reader)
        _check_content_size(name, reader)
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    if not any(page.strip() for page in pages):
        raise Unprocessable(
            f"{name}: the PDF has no text layer (it looks scanned or image-only) and OCR is "
            "not supported; upload a PDF with selectable text, or a DOCX"
        )
    return str(title or ""), "\n".join(strip_page_furniture(pages))


def strip_page_furniture(pages: list[str]) -> list[str]:
    """Drop page numbers and lines repeated at the top or bottom of most pages."""
    page_lines = [_lines(page) for page in pages]
    running = _running_keys(page_lines)
    return ["\n".join(_body_lines(lines, running)) for lines in page_lines]


@contextmanager
def _pdf_errors(name: str) -> Iterator[None]:
    """Turn whatever pypdf raises on a malformed file into a 422 naming the file."""
    try:
        yield
    except ServiceError:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on bad input
        raise Unprocessable(
            f"{name}: the PDF is damaged or is not a PDF; export it again from the original "
            "document and upload the new copy"
        ) from exc


def _check_content_size(name: str, reader: PdfReader) -> None:
    """413 when the pages' content streams add up to more than ``MAX_CONTENT_BYTES``.

    Each stream is inflated once (pypdf caps one stream at 75 MB) and its size remembered."""
    sizes: dict[tuple[int, int], int] = {}
    total = 0
    for page in reader.pages:
        total += sum(_stream_size(stream, sizes) for stream in _content_streams(page))
        if total > MAX_CONTENT_BYTES:
            raise PayloadTooLarge(
                f"{name}: the PDF's pages hold over {MAX_CONTENT_BYTES // 2**20} MB of drawing "
                "instructions to parse, far more than any text document; it looks built to be "
                "slow: print it to a new PDF or save it as DOCX and upload that"
            )


def _content_streams(page: PageObject) -> list[object]:
    contents = page.get("/Contents")
    if contents is None:
        return []
    resolved = contents.get_object()
    return list(resolved) if isinstance(resolved, ArrayObject) else [contents]


def _stream_size(stream: object, sizes: dict[tuple[int, int], int]) -> int:
    key = (stream.idnum, stream.generation) if isinstance(stream, IndirectObject) else None
    if key is not None and key in sizes:
        return sizes[key]
    size = len(stream.get_object().get_data())  # type: ignore[union-attr]
    if key is not None:
        sizes[key] = size
    return size


def _decrypt(name: str, reader: PdfReader) -> None:
    """Open PDFs that only carry an owner password; refuse ones that need a password to read."""
    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("")
    except DependencyError as exc:  # AES needs the optional `cryptography` package
        raise Unprocessable(
            f"{name}: the PDF is encrypted with AES, which this server cannot open; "
            "upload an unencrypted copy"
        ) from exc
    if not opened:
        raise Unprocessable(f"{name}: the PDF is encrypted; upload an unencrypted copy")


def _lines(page: str) -> list[str]:
    return [line.strip() for line in page.splitlines() if line.strip()]


def _edge(lines: list[str]) -> set[int]:
    """Indexes of the lines where headers, footers and page numbers sit."""
    count = len(lines)
    return set(range(min(EDGE_LINES, count))) | set(range(max(0, count - EDGE_LINES), count))


def _key(line: str) -> str:
    """Compare lines ignoring spacing and numbers, so "第 2 页" matches "第 3 页"."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def _running_keys(page_lines: list[list[str]]) -> set[str]:
    """Keys of edge lines that appear on more than half of the pages (needs two pages or more)."""
    if len(page_lines) < 2:
        return set()
    counts = Counter(key for lines in page_lines for key in {_key(lines[i]) for i in _edge(lines)})
    needed = len(page_lines) // 2 + 1
    return {key for key, pages in counts.items() if pages >= needed}


def _body_lines(lines: list[str], running: set[str]) -> list[str]:
    edge = _edge(lines)
    return [
        line
        for index, line in enumerate(lines)
        if index not in edge or not (_PAGE_NUMBER.match(line) or _key(line) in running)
    ]
