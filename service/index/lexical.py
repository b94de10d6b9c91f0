"""Segmentation-robust matching keys: normalised characters, CJK bigrams.

jieba cuts a question and a notice differently often enough (稳岗返还 / 稳岗 返还,
援企稳岗 / 援企 稳岗) that word BM25 misses matches a reader sees at once. Character
bigrams of a normalised copy of the text match whatever the segmentation.
Normalisation is for matching only, never for the text that is shown: NFKC (full-width
letters and digits to half width), lower case and, when the optional
``opencc-python-reimplemented`` package is installed, traditional to simplified characters
(character table only: one ``str.translate``, no phrase conversion).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN_RUN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
# Characters too common in policy text to be worth a unigram posting of their own.
UNIGRAM_STOP = frozenset("的了和与及是在有我你他她它这那哪么吗呢吧啊也都就还又或其之个等")


@lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    """Traditional -> simplified characters from OpenCC's table; {} without the package."""
    try:
        import opencc  # opencc-python-reimplemented
    except ImportError:
        return {}
    table: dict[int, str] = {}
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError:
        return {}
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 1 and len(parts[1]) == 1:
            table[ord(parts[0])] = parts[1]
    return table


def normalize(text: str) -> str:
    """NFKC, lower case, traditional -> simplified characters (matching only)."""
    return unicodedata.normalize("NFKC", text).lower().translate(_t2s_table())


def char_tokens(text: str, unigrams: bool = False) -> list[str]:
    """CJK bigrams of each run of Chinese characters (a one-character run is its own token;
    ``unigrams`` adds every character: measured no better, and their long postings make a
    query several times slower), plus Latin/digit words."""
    text = normalize(text)
    tokens: list[str] = []
    for run in _CJK_RUN.findall(text):
        if unigrams or len(run) == 1:
            tokens.extend(c for c in run if c not in UNIGRAM_STOP)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    tokens.extend(_LATIN_RUN.findall(text))
    return tokens


@lru_cache(maxsize=4096)
def query_char_tokens(text: str) -> tuple[str, ...]:
    """``char_tokens`` for questions, remembered."""
    return tuple(char_tokens(text))
