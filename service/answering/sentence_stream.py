"""Cuts a streamed reply into whole sentences, each with the markers that follow it.

Pieces arrive at arbitrary boundaries ("…补贴。[1", "2]下一句"): a sentence is released
only once its end mark and every marker after it are complete, so a marker split across
pieces is never cut in two.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

ENDS = "。！？!?\n"
TRAILER = re.compile(r"(?:\s*\[\d{1,3}(?:\s*[,，、]\s*\d{1,3})*\])*[”」）)]?")
OPEN_TRAILER = re.compile(r"\s*\[[\d,，、\s]*$|\s*$")


class SentenceStream:
    """``feed`` text pieces, get back the sentences they complete; ``flush`` at the end."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, piece: str) -> Iterator[str]:
        self._buffer += piece
        while True:
            sentence = self._take()
            if sentence is None:
                return
            if sentence.strip():
                yield sentence.strip()

    def flush(self) -> str:
        """What is left (a last sentence without an end mark), and forget it."""
        rest, self._buffer = self._buffer.strip(), ""
        return rest

    def _take(self) -> str | None:
        for index, char in enumerate(self._buffer):
            if char not in ENDS:
                continue
            after = index + 1
            tail = self._buffer[after:]
            trailer = TRAILER.match(tail)
            end = after + (trailer.end() if trailer else 0)
            if OPEN_TRAILER.fullmatch(self._buffer[end:]):
                return None  # markers may still be arriving
            sentence, self._buffer = self._buffer[:end], self._buffer[end:]
            return sentence
        return None
