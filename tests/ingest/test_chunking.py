from __future__ import annotations

import pytest

from service.core.models import Document
from service.ingest.chunking import ChunkingParams, chunk_document
from service.ingest.corpus import load_corpus
from service.ingest.sentences import sentence_spans
from tests.conftest import SEED_CORPUS


@pytest.fixture(scope="module")
def seed_documents() -> list[Document]:
    return load_corpus(SEED_CORPUS)


def test_passages_point_at_their_exact_text_in_the_document(seed_documents) -> None:
    for document in seed_documents:
        for passage in chunk_document(document, ChunkingParams()):
            assert document.text[passage.start : passage.end] == passage.text


def test_passages_are_roughly_150_to_400_characters(seed_documents) -> None:
    lengths = [len(p.text) for d in seed_documents for p in chunk_document(d, ChunkingParams())]
    inside = [n for n in lengths if 150 <= n <= 400]
    assert max(lengths) <= 400
    assert len(inside) / len(lengths) >= 0.85


def test_passages_end_on_sentence_boundaries(seed_documents) -> None:
    for document in seed_documents:
        for passage in chunk_document(document, ChunkingParams()):
            assert passage.text[-1] in "。！？；…”）", passage.text[-20:]


def test_passages_carry_heading_ordinal_and_ids(seed_documents) -> None:
    passages = chunk_document(seed_documents[0], ChunkingParams())
    assert [p.ordinal for p in passages] == list(range(len(passages)))
    assert all(p.id == f"{p.document_id}#{p.ordinal}" for p in passages)
    talent = next(p for p in passages if "济高人才2.0" in p.text)
    assert talent.heading == "激活创新第一动力 塑强“发展策源地”"


def test_consecutive_passages_overlap_a_little(seed_documents) -> None:
    passages = chunk_document(seed_documents[0], ChunkingParams(size=200, overlap=60))
    overlaps = [a.end - b.start for a, b in zip(passages, passages[1:], strict=False) if a.heading == b.heading]
    assert any(o > 0 for o in overlaps)
    assert all(o <= 60 for o in overlaps)


def test_never_split_inside_a_number_or_a_quoted_name() -> None:
    text = "升级出台“济高人才2.0。政策”，人才总量突破36.6万人。《关于支持企业发展的若干措施。试行》已发布。"
    spans = sentence_spans(text)
    pieces = [text[a:b] for a, b in spans]
    assert pieces[0] == "升级出台“济高人才2.0。政策”，人才总量突破36.6万人。"
    assert pieces[1] == "《关于支持企业发展的若干措施。试行》已发布。"


def test_an_over_long_sentence_is_cut_at_commas_not_inside_numbers() -> None:
    sentence = "，".join(f"第{i}项指标增长13.5%" for i in range(60)) + "。"
    document = Document(id="d", title="t", text=sentence)
    passages = chunk_document(document, ChunkingParams(size=150, overlap=0))
    assert len(passages) > 1
    assert all(len(p.text) <= 150 for p in passages)
    assert all(not p.text.startswith((".", "5%")) for p in passages)


def test_chunk_size_must_exceed_overlap() -> None:
    with pytest.raises(ValueError, match="must be > overlap"):
        ChunkingParams(size=50, overlap=50)
