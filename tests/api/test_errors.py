"""Bad input is a 4xx with {"error", "status"} that says what to fix, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def assert_error(response, status: int, *phrases: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "status"}
    assert body["status"] == status
    for phrase in phrases:
        assert phrase in body["error"]


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01\n\t"])
def test_ask_empty_question_returns_422(seed_client: TestClient, question: str) -> None:
    assert_error(seed_client.post("/api/v1/ask", json={"question": question}), 422,
                 "question", "empty")


def test_ask_question_over_500_characters_returns_422(seed_client: TestClient) -> None:
    response = seed_client.post("/api/v1/ask", json={"question": "政" * 501})
    assert_error(response, 422, "501", "500")


def test_500_characters_after_trimming_and_control_removal_is_accepted(seed_client: TestClient) -> None:
    question = "  " + "泉惠企平台\x07" * 100 + "  "
    assert seed_client.post("/api/v1/ask", json={"question": question}).status_code == 200


@pytest.mark.parametrize("top_k", [0, 21, -1, "5", 2.5, True, None])
def test_top_k_outside_1_to_20_or_not_an_integer_returns_422(seed_client: TestClient, top_k) -> None:  # type: ignore[no-untyped-def]
    body = {"query": "泉惠企", "top_k": top_k}
    if top_k is None:
        body["top_k"] = "all"
    assert_error(seed_client.post("/api/v1/search", json=body), 422, "top_k")


def test_wrong_type_and_unknown_field_return_422(seed_client: TestClient) -> None:
    assert_error(seed_client.post("/api/v1/ask", json={"question": 42}), 422, "question")
    assert_error(seed_client.post("/api/v1/ask", json={"question": "泉惠企", "lang": "en"}), 422,
                 "lang", "unknown field")
    assert_error(seed_client.post("/api/v1/ask", json={}), 422, "question", "required")
    assert_error(seed_client.post("/api/v1/ask", json=["泉惠企"]), 422)


def test_malformed_json_returns_400(seed_client: TestClient) -> None:
    response = seed_client.post("/api/v1/ask", content='{"question": "泉惠企"'.encode(),
                                headers={"content-type": "application/json"})
    assert_error(response, 400, "not valid JSON")


def test_body_over_64_kib_returns_413(seed_client: TestClient) -> None:
    response = seed_client.post("/api/v1/ask", json={"question": "政" * 40_000})
    assert_error(response, 413, "larger than")


def test_unknown_endpoint_and_wrong_method(seed_client: TestClient) -> None:
    assert_error(seed_client.get("/api/v1/nope"), 404, "/api/v1/nope")
    assert_error(seed_client.get("/api/v1/ask"), 405, "GET")
