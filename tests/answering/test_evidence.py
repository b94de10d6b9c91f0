"""Question coverage: a policy instrument's name counts as one word, so a text that shares
only its last character (券 of 债券, 套 of 配套) does not cover a question about it."""

from __future__ import annotations

import pytest

from service.answering.evidence import query_terms
from service.index.bm25 import build_bm25

TEXTS = ["申报专项债项目30个，发行债券117亿元。", "加强配套服务。",
         "科技创新券用于购买检验检测服务。", "首台套产品给予一次性奖励。"]


@pytest.mark.parametrize(("question", "unrelated", "related"), [
    ("科技创新券怎么申请？", TEXTS[0], TEXTS[2]),
    ("首台套奖励有哪些？", TEXTS[1], TEXTS[3]),
])
def test_a_text_sharing_one_character_of_an_instrument_does_not_cover_it(
        question: str, unrelated: str, related: str) -> None:
    terms = query_terms(question, build_bm25(TEXTS))
    assert terms.coverage(unrelated) == 0.0
    assert terms.coverage(related) > 0.5
