"""Cutting a streamed reply into sentences without cutting a marker."""

from __future__ import annotations

from service.answering.sentence_stream import SentenceStream


def feed_all(pieces: list[str]) -> list[str]:
    stream = SentenceStream()
    sentences = [s for piece in pieces for s in stream.feed(piece)]
    rest = stream.flush()
    return sentences + ([rest] if rest else [])


def test_a_marker_split_across_pieces_stays_with_its_sentence() -> None:
    assert feed_all(["服务站有8家。[", "1", "][", "2]第二句", "[3]。"]) == \
        ["服务站有8家。[1][2]", "第二句[3]。"]


def test_a_sentence_waits_until_its_markers_are_complete() -> None:
    stream = SentenceStream()
    assert list(stream.feed("第一句。[1")) == []
    assert list(stream.feed("2]")) == []  # more markers could follow
    assert list(stream.feed("第二")) == ["第一句。[12]"]


def test_markers_before_the_end_mark_and_a_last_sentence_without_one() -> None:
    assert feed_all(["甲[1]。乙", "[2]！丙没有句号[3]"]) == ["甲[1]。", "乙[2]！", "丙没有句号[3]"]


def test_decimals_do_not_end_a_sentence() -> None:
    assert feed_all(["总值1331.4亿元[1]。"]) == ["总值1331.4亿元[1]。"]
