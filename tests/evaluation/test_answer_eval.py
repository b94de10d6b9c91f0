"""``eval --answers`` on the seed index (fast tier): containment of the annotated answer,
and refusal once the gold document is hidden before fusion."""

from __future__ import annotations

import pytest

from service.answering.extractive import ExtractiveAnswerer, RefusalPolicy
from service.answering.retrieval import Retriever
from service.core.settings import Settings
from service.embedding.query_vectors import QueryVectors
from service.evaluation.answer_eval import score_answers, without_documents
from service.index.store import load_current
from tests.fakes import BigramEmbedder

GOLD = "jinan-hitech-2023-q3"
QUESTION = {"question": "外籍员工的工作和居留能一起办吗？", "answers": ["工作居留一件事"],
            "gold_passage_ids": [GOLD]}


@pytest.fixture
def answerer(fast_index: Settings) -> ExtractiveAnswerer:
    embedder = BigramEmbedder()
    index = load_current(fast_index.index_dir, embedder.name)
    retriever = Retriever(index, QueryVectors(embedder, 100), fast_index)
    return ExtractiveAnswerer(retriever, RefusalPolicy(0.5, 0.0), 400)


def test_a_hidden_document_is_never_retrieved(answerer: ExtractiveAnswerer) -> None:
    hidden = without_documents(answerer.retriever, {GOLD})
    assert all(h.passage.document_id == GOLD for h in answerer.retriever.search("工作居留", 1))
    assert all(h.passage.document_id != GOLD for h in hidden.search("工作居留", 5))


def test_the_grid_reports_containment_and_refuses_more_as_the_threshold_rises(
        answerer: ExtractiveAnswerer) -> None:
    low, high = score_answers(answerer, [QUESTION], [0.0, 99.0])
    assert (low.answered, low.cited_contains, low.quote_contains) == (1.0, 1.0, 1.0)
    assert low.refused_with_gold == 0.0
    assert (high.answered, high.refused_with_gold, high.refused_without_gold) == (0.0, 1.0, 1.0)
    assert answerer.policy.threshold == 0.5  # the answerer is left as it was
