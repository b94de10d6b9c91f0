from __future__ import annotations

import re

from service.ingest.cleaning import clean_text, is_heading
from tests.conftest import SEED_CORPUS

PDF_LIKE = (
    "  今年前三季度地区生产总值1331 . 4 亿元，按可比\n价格计算，同比增长7 . 9% ，分别领先全国、全省2 . 7\n"
    "个、 1 . 9 个百分点。\n\n激活创新第一动力\n\n塑强“发展策源地”\n\n"
    "  升级出台“济高人才\n2 . 0 ”政策，人才总量突破36 . 6 万人。\n"
)


def without_whitespace(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_clean_text_joins_numbers_split_by_pdf_extraction() -> None:
    cleaned = clean_text(PDF_LIKE)
    assert "1331.4亿元" in cleaned
    assert "同比增长7.9%，" in cleaned
    assert "“济高人才2.0”政策" in cleaned
    assert "36.6万人" in cleaned


def test_clean_text_joins_lines_broken_mid_sentence() -> None:
    cleaned = clean_text(PDF_LIKE)
    assert "按可比价格计算" in cleaned
    assert "\n价格" not in cleaned


def test_clean_text_keeps_headings_as_their_own_paragraphs() -> None:
    paragraphs = clean_text(PDF_LIKE).split("\n\n")
    assert "激活创新第一动力" in paragraphs
    assert "塑强“发展策源地”" in paragraphs


def test_clean_text_never_changes_the_words_of_the_seed_reports() -> None:
    for path in SEED_CORPUS.glob("*.txt"):
        raw = path.read_text("utf-8").split("---", 2)[2]
        assert without_whitespace(clean_text(raw)) == without_whitespace(raw), path.name


def test_clean_text_joins_a_paragraph_split_by_a_page_break() -> None:
    raw = "  坛，成功落地山东首单Pre-REITs 基金，科创经纪\n\n人、知识作价等新模式持续优化。\n"
    assert clean_text(raw) == "坛，成功落地山东首单Pre-REITs基金，科创经纪人、知识作价等新模式持续优化。"


def test_is_heading_rejects_sentences_and_long_lines() -> None:
    assert is_heading("推动产业崛起成峰")
    assert not is_heading("科技创新离不开金融支持。")
    assert not is_heading("济南高新区持续深化放管服改革，")
    assert not is_heading("在济南高新区“涉外服务专区”一位外籍投资者在办理外资企业设立的同时还完成了外籍员工的联办")
