"""The refusal threshold, checked on the dev set it was picked on (tests/data/refusal_dev.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.answering.extractive import ExtractiveAnswerer
from service.answering.retrieval import Retriever
from service.answering.serving import refusal_policy
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.embedding.query_vectors import QueryVectors
from service.evaluation.refusal_eval import score_refusal
from service.index.store import load_current

DEV_SET = Path(__file__).parents[1] / "data" / "refusal_dev.jsonl"


@pytest.fixture(scope="module")
def answerer(seed_index: Settings, embedder: Embedder) -> ExtractiveAnswerer:
    index = load_current(seed_index.index_dir, embedder.name)
    retriever = Retriever(index, QueryVectors(embedder, 1000), seed_index)
    return ExtractiveAnswerer(retriever, refusal_policy(seed_index))


def test_configured_threshold_refuses_well_on_the_dev_set(answerer, seed_index: Settings) -> None:  # type: ignore[no-untyped-def]
    questions = [json.loads(line) for line in DEV_SET.read_text("utf-8").splitlines() if line]
    scores = score_refusal(answerer, questions, seed_index.refusal_threshold)
    assert scores.answerable >= 40 and scores.unanswerable >= 40
    assert scores.precision >= 0.85
    assert scores.recall >= 0.85
    assert scores.false_refusal <= 0.12


def test_a_lower_threshold_refuses_less(answerer, seed_index: Settings) -> None:  # type: ignore[no-untyped-def]
    questions = [json.loads(line) for line in DEV_SET.read_text("utf-8").splitlines() if line]
    strict = score_refusal(answerer, questions, seed_index.refusal_threshold + 0.3)
    lax = score_refusal(answerer, questions, seed_index.refusal_threshold - 0.3)
    assert lax.recall < strict.recall
    assert lax.false_refusal < strict.false_refusal
