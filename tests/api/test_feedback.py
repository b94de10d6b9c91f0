"""Feedback: users rate answers (POST), staff read them (GET, token or local only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.storage.feedback import Feedback, FeedbackStore

VALID: dict[str, Any] = {
    "question": "外籍员工的工作许可和居留能一起办吗？",
    "answer": "……还完成了外籍员工“工作居留一件事”的联办。[1]",
    "passage_ids": ["jinan-hitech-2023-q3#15"],
    "helpful": True,
}


def post(client: TestClient, **changes: Any) -> Any:
    return client.post("/api/v1/feedback", json={**VALID, **changes})


def test_post_feedback_returns_201_and_an_id(client: TestClient) -> None:
    first = post(client)
    second = post(client, helpful=False, comment="没说清楚去哪里办")
    assert first.status_code == 201 and second.status_code == 201
    assert second.json()["id"] == first.json()["id"] + 1


def test_feedback_is_listed_newest_first(client: TestClient) -> None:
    post(client, comment="第一条")
    post(client, helpful=False, comment="第二条")
    listing = client.get("/api/v1/feedback").json()
    assert listing["total"] == 2
    newest = listing["items"][0]
    assert newest["comment"] == "第二条" and newest["helpful"] is False
    assert newest["question"] == VALID["question"]
    assert newest["passage_ids"] == VALID["passage_ids"]
    assert newest["created"].endswith("+00:00")


def test_feedback_list_pages_with_limit_and_offset(client: TestClient) -> None:
    for n in range(3):
        post(client, comment=str(n))
    page = client.get("/api/v1/feedback", params={"limit": 2, "offset": 2}).json()
    assert page["total"] == 3
    assert [item["comment"] for item in page["items"]] == ["0"]


def test_feedback_survives_a_restart(settings: Settings, embedder: Embedder) -> None:
    with TestClient(create_app(settings, embedder=embedder)) as first:
        assert post(first).status_code == 201
    with TestClient(create_app(settings, embedder=embedder)) as second:
        assert second.get("/api/v1/feedback").json()["total"] == 1
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


def test_listing_needs_the_bearer_token_when_one_is_set(settings: Settings,
                                                        embedder: Embedder) -> None:
    guarded = settings.model_copy(update={"admin_token": "s3cret-token"})
    with TestClient(create_app(guarded, embedder=embedder)) as client:
        post(client)
        missing = client.get("/api/v1/feedback")
        wrong = client.get("/api/v1/feedback", headers={"Authorization": "Bearer nope"})
        right = client.get("/api/v1/feedback", headers={"Authorization": "Bearer s3cret-token"})
    assert missing.status_code == 401 and missing.json()["status"] == 401
    assert wrong.status_code == 401
    assert right.status_code == 200 and right.json()["total"] == 1


def test_listing_without_a_token_is_refused_to_remote_clients(settings: Settings,
                                                              embedder: Embedder) -> None:
    app = create_app(settings, embedder=embedder)
    with TestClient(app, client=("203.0.113.7", 40000)) as remote:
        response = remote.get("/api/v1/feedback")
        assert post(remote).status_code == 201
    assert response.status_code == 403
    assert response.json() == {"error": "admin API disabled: set POLICYBOT_ADMIN_TOKEN",
                               "status": 403}


def test_listing_without_a_token_is_allowed_from_localhost(settings: Settings,
                                                           embedder: Embedder) -> None:
    app = create_app(settings, embedder=embedder)
    with TestClient(app, client=("127.0.0.1", 40000)) as local:
        assert local.get("/api/v1/feedback").status_code == 200


def test_store_creates_its_folder_on_first_use(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "deep" / "data" / "feedback.sqlite")
    assert not (tmp_path / "deep").exists()
    row_id = store.add(Feedback(question="问", answer="答", passage_ids=("a#1", "b#2"),
                                helpful=False))
    [stored] = store.recent(10)
    assert stored.id == row_id and stored.passage_ids == ("a#1", "b#2")
    assert stored.helpful is False and stored.comment == ""
    assert store.count() == 1
