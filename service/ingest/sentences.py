"""Chinese sentence boundaries, shared by chunking and answer composition."""

from __future__ import annotations

import re
from functools import lru_cache

SENTENCE_END = "。！？；!?;…"
CLOSERS = "”’」』）)》】"
QUOTE_PAIRS = {"“": "”", "《": "》", "「": "」", "『": "』", "（": "）", "(": ")"}
_MARKS = re.compile("[" + re.escape("".join(QUOTE_PAIRS) + "".join(QUOTE_PAIRS.values()) +
                                    SENTENCE_END) + "\n]")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences in ``text[start:end]``.

    A sentence ends at 。！？； (and a run of them, plus closing quotes) or at a
    line break, but never inside “quoted names” or 《titles》. Only the characters
    that can change that are visited (a regex finds them).
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    open_quotes: list[str] = []
    begin = i = start
    while match := _MARKS.search(text, i, end):
        i = match.start()
        char = text[i]
        if char in QUOTE_PAIRS:
            open_quotes.append(QUOTE_PAIRS[char])
        elif open_quotes and char == open_quotes[-1]:
            open_quotes.pop()
        elif char == "\n" or (char in SENTENCE_END and not open_quotes):
            i = _skip_trailing(text, i + 1, end)
            _add_span(text, spans, begin, i)
            begin = i
            continue
        if len(open_quotes) > 3:  # unbalanced quotes: stop protecting
            open_quotes.clear()
        i += 1
    _add_span(text, spans, begin, end)
    return spans


@lru_cache(maxsize=16384)
def passage_sentences(text: str) -> tuple[tuple[int, int], ...]:
    """``sentence_spans(text)``, remembered: answers split the same passages again and again."""
    return tuple(sentence_spans(text))


# A numbered clause right after a closing bracket, inside a sentence of a notice flattened
# into one paragraph: "…（责任单位：省财政厅）四、实施援企稳岗政策" or "…（联系电话：88499343）（二）".
_INLINE_CLAUSE = re.compile(r"(?<=[）)】])(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[)）])")


# A sentence that opens with the previous clause's aside ("（对接部门：区国资委；联系电话：…）
# 对疫情期间…"): the aside is cut off, so that the quote opens with the measure.
_LEADING_ASIDE = re.compile(r"[（(][^（()）]{5,}?[)）]")


@lru_cache(maxsize=16384)
def clause_sentences(text: str) -> tuple[tuple[int, int], ...]:
    """``passage_sentences(text)``, each also cut before a numbered clause that starts inside
    it: what an answer quotes, so that it begins where the measure does."""
    spans: list[tuple[int, int]] = []
    for start, end in passage_sentences(text):
        cuts = [m.start() for m in _INLINE_CLAUSE.finditer(text, start + 1, end)]
        aside = _LEADING_ASIDE.match(text, start, end)
        if aside and aside.end() < end and aside.end() not in cuts:
            cuts = sorted([aside.end(), *cuts])
        for begin, stop in zip([start, *cuts], [*cuts, end], strict=True):
            _add_span(text, spans, begin, stop)
    return tuple(spans)


def _skip_trailing(text: str, i: int, end: int) -> int:
    while i < end and (text[i] in SENTENCE_END or text[i] in CLOSERS):
        i += 1
    return i


def _add_span(text: str, spans: list[tuple[int, int]], begin: int, end: int) -> None:
    while begin < end and text[begin].isspace():
        begin += 1
    while end > begin and text[end - 1].isspace():
        end -= 1
    if end > begin:
        spans.append((begin, end))
