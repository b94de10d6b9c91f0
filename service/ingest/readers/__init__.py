"""Readers turn a file's bytes into (title, raw text); one per format, chosen by suffix.

Takes in: a file name and its bytes. Gives out: the title the file declares ("" if none)
and its text with headings on their own lines. Each reader's module imports its parser
(pypdf, python-docx, selectolax) only when a file of that format is first read, so
`policybot search` and the API's question routes never load them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol


class Reader(Protocol):
    @property
    def format(self) -> str:  # "pdf" | "docx" | "html" | "text"
        ...

    def read(self, name: str, data: bytes) -> tuple[str, str]:
        """(title, text) of ``data``; a bad file is a 4xx ``ServiceError`` naming ``name``."""
        ...


@dataclass(frozen=True)
class LazyReader:
    """A reader whose module (and parser) is imported on its first ``read``."""

    format: str
    module: str
    function: str

    def read(self, name: str, data: bytes) -> tuple[str, str]:
        read = getattr(importlib.import_module(self.module), self.function)
        return read(name, data)  # type: ignore[no-any-return]


READERS: dict[str, Reader] = {
    ".pdf": LazyReader("pdf", "service.ingest.readers.pdf", "pdf_text"),
    ".docx": LazyReader("docx", "service.ingest.readers.docx", "read_docx"),
    ".html": LazyReader("html", "service.ingest.readers.html", "read_html"),
    ".htm": LazyReader("html", "service.ingest.readers.html", "read_html"),
    ".txt": LazyReader("text", "service.ingest.readers.text", "read_plain"),
    ".md": LazyReader("text", "service.ingest.readers.text", "read_markdown"),
}
SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
