"""Answers over a real small index built with the test embedder (fast tier)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.answering.serving import IndexHolder
from service.core.settings import Settings
from tests.fakes import BigramEmbedder

SEED_QUESTIONS = Path(__file__).parents[1] / "data" / "seed_questions.jsonl"


@pytest.fixture(scope="module")
def holder(fast_index: Settings) -> IndexHolder:
    holder = IndexHolder(fast_index, BigramEmbedder())
    holder.refresh()
    assert holder.ready, holder.last_error
    return holder


def test_an_answer_quotes_and_cites_the_passage_that_holds_it(holder: IndexHolder) -> None:
    answer = holder.snapshot().answerer.answer("外籍员工的工作居留可以一起办吗？")
    assert answer.found
    assert any("工作居留" in c.quote for c in answer.citations)
    for citation in answer.citations:
        passage = citation.hit.passage
        assert citation.quote in passage.text
        assert f"[{citation.marker}]" in answer.text
        assert passage.start <= citation.quote_start < citation.quote_end <= passage.end


def test_a_question_the_texts_do_not_cover_is_refused(holder: IndexHolder) -> None:
    answer = holder.snapshot().answerer.answer("红烧肉的做法是什么？")
    assert not answer.found and answer.citations == ()
    assert "泉惠企" in answer.text  # points to human help


def test_hybrid_search_finds_the_passage_with_the_rare_zone_term(holder: IndexHolder) -> None:
    hits = holder.snapshot().retriever.search("泉惠企平台", top_k=3)
    assert "泉惠企" in hits[0].passage.text
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_every_quote_of_the_seed_questions_is_the_cited_passage_at_its_offsets(
        holder: IndexHolder) -> None:
    """Reading on into the next passage keeps quotes verbatim, inside the passage they cite."""
    rows = [json.loads(line) for line in SEED_QUESTIONS.read_text("utf-8").splitlines()]
    answerer = holder.snapshot().answerer
    quoted = 0
    for row in rows:
        for citation in answerer.answer(row["question"]).citations:
            passage = citation.hit.passage
            assert passage.start <= citation.quote_start < citation.quote_end <= passage.end
            offsets = slice(citation.quote_start - passage.start, citation.quote_end - passage.start)
            assert passage.text[offsets] == citation.quote, row["question"]
            quoted += 1
    assert quoted >= len(rows)
