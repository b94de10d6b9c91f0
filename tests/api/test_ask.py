"""The JSON API over the real app and a real index of the seed corpus."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

WORK_RESIDENCE = "外籍员工的工作许可和居留能一起办吗？"


def test_ask_answers_with_a_citation_to_the_work_residence_passage(seed_client: TestClient) -> None:
    response = seed_client.post("/api/v1/ask", json={"question": WORK_RESIDENCE})
    assert response.status_code == 200
    body = response.json()
    assert body["found"] is True
    assert "工作居留一件事" in body["answer"]
    assert "[1]" in body["answer"]
    first = body["citations"][0]
    assert first["marker"] == 1
    assert "工作居留一件事" in first["quote"]
    assert first["quote"] in first["text"]
    assert first["document_id"] == "jinan-hitech-2023-q3"
    assert first["start"] <= first["quote_start"] < first["quote_end"] <= first["end"]
    assert body["took_ms"] >= 0


def test_every_answer_sentence_carries_a_marker_that_a_citation_supports(seed_client: TestClient) -> None:
    body = seed_client.post("/api/v1/ask", json={"question": "我们是专精特新企业，能享受哪些政策？"}).json()
    markers = {c["marker"] for c in body["citations"]}
    for citation in body["citations"]:
        assert citation["quote"] in body["answer"]
        assert f"[{citation['marker']}]" in body["answer"]
    assert markers == set(range(1, len(markers) + 1))


@pytest.mark.parametrize("question", ["今天济南天气怎么样？", "上海浦东新区对集成电路企业有什么补贴？",
                                      "红烧肉怎么做才好吃"])
def test_off_topic_questions_are_refused_without_citations(seed_client: TestClient, question: str) -> None:
    body = seed_client.post("/api/v1/ask", json={"question": question}).json()
    assert body["found"] is False
    assert body["citations"] == []
    assert "泉惠企" in body["answer"] and "首席政策官" in body["answer"]


def _timing(response) -> dict[str, float]:  # type: ignore[no-untyped-def]
    entries = (e.split(";dur=") for e in response.headers["Server-Timing"].split(", "))
    return {name: float(ms) for name, ms in entries}


@pytest.mark.parametrize(("path", "key"), [("/api/v1/ask", "question"), ("/api/v1/search", "query")])
def test_server_timing_shows_the_embedding_of_a_new_question_and_none_for_a_repeat(
        seed_client: TestClient, path: str, key: str) -> None:
    question = f"高新区对{path[-3:]}接口的新问题有哪些支持政策？"
    first = _timing(seed_client.post(path, json={key: question}))
    again = _timing(seed_client.post(path, json={key: question}))
    assert 0 < first["embed"] <= first["total"]
    assert "embed" not in again  # the vector came from the cache
    assert again["total"] > 0


def test_search_returns_the_quanhuiqi_passage_first(seed_client: TestClient) -> None:
    response = seed_client.post("/api/v1/search", json={"query": "企业在哪里可以查到惠企政策", "top_k": 3})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 3
    assert "泉惠企" in results[0]["text"]
    assert set(results[0]) >= {"passage_id", "document_id", "title", "text", "start", "end",
                               "score", "dense_score", "bm25_score"}
    assert results[0]["score"] >= results[1]["score"] >= results[2]["score"]


def test_documents_lists_both_reports(seed_client: TestClient) -> None:
    documents = seed_client.get("/api/v1/documents").json()["documents"]
    by_id = {d["document_id"]: d for d in documents}
    assert set(by_id) == {"jinan-hitech-2023-q3", "jinan-hitech-2024-annual"}
    assert by_id["jinan-hitech-2024-annual"]["date"] == "2025-01"
    assert all(d["passages"] > 5 and len(d["sha256"]) == 64 for d in documents)


def test_health_and_readiness(seed_client: TestClient) -> None:
    assert seed_client.get("/healthz").status_code == 200
    ready = seed_client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["passages"] > 20 and ready["index_version"]
    assert ready["load_error"] is None


def test_readyz_is_503_with_a_hint_before_any_index_exists(tmp_path, embedder) -> None:
    from service.api.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    with TestClient(create_app(settings, embedder=embedder)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "policybot reindex" in response.json()["error"]
        ask = client.post("/api/v1/ask", json={"question": "泉惠企是什么"})
        assert ask.status_code == 503 and ask.json()["status"] == 503


def test_openapi_documents_every_field_with_a_chinese_example(seed_client: TestClient) -> None:
    schema = seed_client.get("/openapi.json").json()
    ask = schema["components"]["schemas"]["AskRequest"]["properties"]["question"]
    assert "外籍员工" in str(ask["examples"])
    assert seed_client.get("/docs").status_code == 200


def test_every_response_field_has_an_example_or_description(seed_client: TestClient) -> None:
    schemas = seed_client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("AskRequest", "AskResponse", "CitationOut", "SearchRequest", "SearchResponse",
                 "SearchResult", "DocumentOut", "ReadyResponse", "ErrorResponse"):
        for field, spec in schemas[name]["properties"].items():
            assert spec.get("examples") or spec.get("description"), f"{name}.{field}"
