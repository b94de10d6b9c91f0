"""Feedback: users rate answers (POST), staff read them (GET, admin token only; JSON or CSV)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.api.app import create_app
from service.api.auth import DISABLED
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.storage.feedback import Feedback, FeedbackStore

VALID: dict[str, Any] = {
    "question": "外籍员工的工作许可和居留能一起办吗？",
    "answer": "……还完成了外籍员工“工作居留一件事”的联办。[1]",
    "passage_ids": ["jinan-hitech-2023-q3#15"],
    "helpful": True,
}


TOKEN = "feedback-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """conftest's private copy of the seed index, with an admin token."""
    return settings.model_copy(update={"admin_token": TOKEN})


def post(client: TestClient, **changes: Any) -> Any:
    return client.post("/api/v1/feedback", json={**VALID, **changes})


def listing(client: TestClient, **params: Any) -> Any:
    response = client.get("/api/v1/feedback", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response


def test_post_feedback_returns_201_and_an_id(client: TestClient) -> None:
    first = post(client)
    second = post(client, helpful=False, comment="没说清楚去哪里办")
    assert first.status_code == 201 and second.status_code == 201
    assert second.json()["id"] == first.json()["id"] + 1


def test_feedback_is_listed_newest_first(client: TestClient) -> None:
    post(client, comment="第一条")
    post(client, helpful=False, comment="第二条")
    listed = listing(client).json()
    assert listed["total"] == 2
    newest = listed["items"][0]
    assert newest["comment"] == "第二条" and newest["helpful"] is False
    assert newest["question"] == VALID["question"]
    assert newest["passage_ids"] == VALID["passage_ids"]
    assert newest["created"].endswith("+00:00")


def test_feedback_list_pages_with_limit_and_offset(client: TestClient) -> None:
    for n in range(3):
        post(client, comment=str(n))
    page = listing(client, limit=2, offset=2).json()
    assert page["total"] == 3
    assert [item["comment"] for item in page["items"]] == ["0"]


def test_feedback_survives_a_restart(settings: Settings, embedder: Embedder) -> None:
    with TestClient(create_app(settings, embedder=embedder)) as first:
        assert post(first).status_code == 201
    with TestClient(create_app(settings, embedder=embedder)) as second:
        assert listing(second).json()["total"] == 1
    assert (settings.data_dir / "feedback.sqlite").is_file()


@pytest.mark.parametrize("changes", [
    {"question": ""},
    {"question": "   "},
    {"question": "问" * 501},
    {"answer": "答" * 4001},
    {"passage_ids": [f"doc#{n}" for n in range(21)]},
    {"passage_ids": [""]},
    {"helpful": "true"},
    {"helpful": 1},
    {"comment": "评" * 1001},
    {"rating": 5},
], ids=["empty", "blank", "long-question", "long-answer", "many-ids", "empty-id",
        "helpful-string", "helpful-int", "long-comment", "unknown-field"])
def test_bad_feedback_is_422_with_the_field_named(client: TestClient,
                                                  changes: dict[str, Any]) -> None:
    response = post(client, **changes)
    assert response.status_code == 422
    assert response.json()["status"] == 422
    assert next(iter(changes)) in response.json()["error"]


def test_helpful_is_required(client: TestClient) -> None:
    body = {key: value for key, value in VALID.items() if key != "helpful"}
    response = client.post("/api/v1/feedback", json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "helpful: is required"


def test_listing_needs_the_bearer_token(client: TestClient) -> None:
    post(client)
    missing = client.get("/api/v1/feedback")
    wrong = client.get("/api/v1/feedback", headers={"Authorization": "Bearer nope"})
    right = client.get("/api/v1/feedback", headers=AUTH)
    assert missing.status_code == 401 and missing.json()["status"] == 401
    assert wrong.status_code == 401
    assert right.status_code == 200 and right.json()["total"] == 1


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "203.0.113.7"])
def test_without_a_configured_token_nobody_reads_feedback(settings: Settings, embedder: Embedder,
                                                          address: str) -> None:
    """Behind a same-host reverse proxy every client is loopback: no exception for it."""
    app = create_app(settings.model_copy(update={"admin_token": ""}), embedder=embedder)
    with TestClient(app, client=(address, 40000)) as caller:
        assert post(caller).status_code == 201
        response = caller.get("/api/v1/feedback")
        csv_response = caller.get("/api/v1/feedback", params={"format": "csv"})
    assert response.status_code == csv_response.status_code == 403
    assert response.json() == {"error": DISABLED, "status": 403}
    assert "POLICYBOT_ADMIN_TOKEN" in DISABLED and "openssl rand" in DISABLED


def test_feedback_filters_by_rating(client: TestClient) -> None:
    post(client, comment="好")
    post(client, helpful=False, comment="差")
    post(client, helpful=False, comment="也差")
    down = listing(client, helpful="false").json()
    up = listing(client, helpful="true").json()
    assert (down["total"], up["total"]) == (2, 1)
    assert [item["comment"] for item in down["items"]] == ["也差", "差"]
    assert [item["comment"] for item in up["items"]] == ["好"]


def test_feedback_csv_is_utf8_with_bom_and_every_row(client: TestClient) -> None:
    post(client, comment="第一条")
    post(client, helpful=False, comment="=HYPERLINK(\"http://x\")", passage_ids=["a#1", "b#2"])
    response = listing(client, format="csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["id", "created", "helpful", "question", "answer", "passage_ids",
                       "comment"]
    assert [row[2] for row in rows[1:]] == ["not helpful", "helpful"]
    assert rows[1][3] == VALID["question"] and rows[1][5] == "a#1 b#2"
    assert rows[1][6] == "'=HYPERLINK(\"http://x\")"  # never run as a formula by Excel
    only_up = list(csv.reader(io.StringIO(listing(client, format="csv", helpful="true")
                                          .content.decode("utf-8-sig"))))
    assert len(only_up) == 2


def test_feedback_is_counted_in_the_metrics(client: TestClient) -> None:
    before = _feedback_counts(client)
    post(client)
    post(client, helpful=False)
    post(client, helpful=False)
    after = _feedback_counts(client)
    assert after["helpful"] - before["helpful"] == 1
    assert after["not_helpful"] - before["not_helpful"] == 2


def _feedback_counts(client: TestClient) -> dict[str, float]:
    counts = {"helpful": 0.0, "not_helpful": 0.0}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "policybot_feedback_total":
                counts[sample.labels["rating"]] = sample.value
    return counts


def test_store_creates_its_folder_on_first_use(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "deep" / "data" / "feedback.sqlite")
    assert not (tmp_path / "deep").exists()
    row_id = store.add(Feedback(question="问", answer="答", passage_ids=("a#1", "b#2"),
                                helpful=False))
    [stored] = store.recent(10)
    assert stored.id == row_id and stored.passage_ids == ("a#1", "b#2")
    assert stored.helpful is False and stored.comment == ""
    assert store.count() == 1
