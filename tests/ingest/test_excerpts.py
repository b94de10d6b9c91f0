"""One set of excerpt rules for answers, policy lists and match summaries."""

from __future__ import annotations

from service.ingest.excerpts import CLAUSE_BREAKS, as_excerpt, best_clauses

SENTENCE = ("对新认定的专精特新企业给予一次性奖励，奖励金额为20万元，由区财政局统一拨付，"
            "申报材料包括营业执照和认定文件，受理时间为每年三月")


def count_of(word: str):  # noqa: ANN201
    return lambda part: part.count(word)


def test_a_sentence_within_the_limit_comes_back_unchanged() -> None:
    assert best_clauses(SENTENCE, 0, len(SENTENCE), count_of("奖励"), 200) == (0, len(SENTENCE))


def test_a_long_sentence_is_cut_to_whole_clauses_that_score_best() -> None:
    start, end = best_clauses(SENTENCE, 0, len(SENTENCE), count_of("奖励"), 40)
    quote = SENTENCE[start:end]
    assert quote.count("奖励") == 2
    assert len(quote) <= 40
    assert start == 0 or SENTENCE[start - 1] in CLAUSE_BREAKS  # begins a clause
    assert quote[-1] not in CLAUSE_BREAKS  # no trailing clause mark
    assert end == len(SENTENCE) or SENTENCE[end] in CLAUSE_BREAKS  # ends a clause


def test_ties_go_to_the_longer_span() -> None:
    start, end = best_clauses(SENTENCE, 0, len(SENTENCE), lambda part: 0, 40)
    shorter_fits = [len(SENTENCE[:i]) for i in range(len(SENTENCE)) if SENTENCE[i - 1:i] == "，"]
    assert end - start == max(n - 1 for n in shorter_fits if n <= 40)


def test_a_clause_longer_than_the_limit_is_never_cut_inside() -> None:
    text = "甲" * 50 + "，乙乙"
    start, end = best_clauses(text, 0, len(text), count_of("甲"), 10)
    assert (start, end) == (0, 50)


def test_offsets_stay_inside_the_given_sentence() -> None:
    text = "前一句。" + SENTENCE + "。后一句。"
    begin = len("前一句。")
    start, end = best_clauses(text, begin, begin + len(SENTENCE), count_of("材料"), 30)
    assert begin <= start < end <= begin + len(SENTENCE)
    assert "材料" in text[start:end]


def test_an_excerpt_that_does_not_end_a_sentence_gets_an_ellipsis() -> None:
    assert as_excerpt("奖励金额为20万元") == "奖励金额为20万元…"
    for ending in ("。", "！", "？", "；", "”", "）", "》", "…"):
        assert as_excerpt("奖励金额为20万元" + ending) == "奖励金额为20万元" + ending
