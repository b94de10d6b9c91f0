"""Properties of the text cleaners over generated text (hypothesis, bounded, derandomized):
cleaning only ever changes whitespace, and sentence spans cover the text in order."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from service.ingest.cleaning import clean_text
from service.ingest.sentences import sentence_spans

POLICY_ALPHABET = list("政策企业高新区补贴人才申请条件1234567890.%亿元 abcAB") + [
    " ", "  ", "\n", "\n\n", "\r\n", "\t", "\u3000", "\u00a0", "。", "！", "？", "；", "…", "，",
    "、", "：", "“", "”", "《", "》", "（", "）", "(", ")", "「", "」", "!", "?", ";", "\ufeff"]
policy_text = st.lists(st.sampled_from(POLICY_ALPHABET), max_size=120).map("".join)
any_text = st.text(max_size=80)
BOUNDED = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def without_whitespace(text: str) -> str:
    return re.sub(r"\s+", "", text)


@BOUNDED
@given(st.one_of(policy_text, any_text))
def test_cleaning_changes_only_whitespace(raw: str) -> None:
    # a byte-order mark at the very start is the one non-space character it drops
    assert without_whitespace(clean_text(raw)) == without_whitespace(
        raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))


@BOUNDED
@given(st.one_of(policy_text, any_text))
def test_cleaned_text_has_no_blank_edges_or_runs_of_blank_lines(raw: str) -> None:
    cleaned = clean_text(raw)
    assert cleaned == cleaned.strip()
    assert "\n\n\n" not in cleaned


@BOUNDED
@given(st.one_of(policy_text, any_text), st.data())
def test_sentence_spans_cover_the_text_in_order(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    spans = sentence_spans(text, start, end)
    position = start
    for begin, finish in spans:
        assert position <= begin < finish <= end  # in order, non-empty, inside the range
        assert text[position:begin].strip() == ""  # only whitespace between sentences
        assert not text[begin].isspace() and not text[finish - 1].isspace()
        position = finish
    assert text[position:end].strip() == ""  # nothing but whitespace after the last one
