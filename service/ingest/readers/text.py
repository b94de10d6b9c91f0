"""Plain text and Markdown: decoded as written; Markdown's first heading is the title."""

from __future__ import annotations

import re

from service.ingest.readers.encodings import decode_named

_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def read_plain(name: str, data: bytes) -> tuple[str, str]:
    return "", decode_named(name, data)


def read_markdown(name: str, data: bytes) -> tuple[str, str]:
    """Markdown stays as written; its first heading is the title."""
    text = decode_named(name, data)
    heading = _MD_HEADING.search(text)
    return (heading.group(1) if heading else ""), text
