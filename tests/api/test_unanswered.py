"""Refused questions reach the staff list (admin token, JSON or CSV); answered ones do not."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.api.app import create_app
from service.core.settings import Settings
from service.embedding.embedders import Embedder

TOKEN = "unanswered-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ANSWERED = "外籍员工的工作许可和居留能一起办吗？"
REFUSED = "上海浦东新区的人才公寓怎么申请？"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    (settings.data_dir / "unanswered.sqlite").unlink(missing_ok=True)  # an empty list
    return settings.model_copy(update={"admin_token": TOKEN})


def ask(client: TestClient, question: str) -> dict[str, Any]:
    response = client.post("/api/v1/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


def unanswered(client: TestClient, **params: Any) -> Any:
    response = client.get("/api/v1/unanswered", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response


def test_refused_questions_are_listed_grouped_newest_first(client: TestClient) -> None:
    assert ask(client, ANSWERED)["found"] is True
    assert ask(client, REFUSED)["found"] is False
    assert ask(client, "深圳的房租补贴有多少？")["found"] is False
    assert ask(client, " 上海浦东新区的人才公寓怎么申请? ")["found"] is False
    listed = unanswered(client).json()
    assert listed["enabled"] is True and listed["keep_days"] == 180
    assert listed["total"] == 2
    assert [(i["question"], i["count"]) for i in listed["items"]] == [
        ("上海浦东新区的人才公寓怎么申请?", 2), ("深圳的房租补贴有多少？", 1)]


def test_unanswered_csv_has_bom_and_chinese(client: TestClient) -> None:
    ask(client, REFUSED)
    response = unanswered(client, format="csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert REFUSED.encode("utf-8") in response.content
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["question", "count", "first_asked", "last_asked"]
    assert rows[1][:2] == [REFUSED, "1"]


def test_unanswered_needs_the_admin_token(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = client.get("/api/v1/unanswered", headers=headers)
        assert response.status_code == 401 and response.json()["status"] == 401


def test_bad_format_is_a_422_naming_it(client: TestClient) -> None:
    response = client.get("/api/v1/unanswered", params={"format": "xlsx"}, headers=AUTH)
    assert response.status_code == 422 and "format" in response.json()["error"]


def test_question_log_off_keeps_nothing(settings: Settings, embedder: Embedder) -> None:
    off = settings.model_copy(update={"question_log": False})
    with TestClient(create_app(off, embedder=embedder)) as client:
        ask(client, REFUSED)
        listed = unanswered(client).json()
    assert (listed["enabled"], listed["total"], listed["items"]) == (False, 0, [])
    assert not (settings.data_dir / "unanswered.sqlite").exists()


def test_questions_are_counted_by_outcome(client: TestClient) -> None:
    before = question_counts(client)
    ask(client, ANSWERED)
    ask(client, REFUSED)
    ask(client, REFUSED)
    assert client.post("/api/v1/ask", json={"question": ""}).status_code == 422  # not counted
    after = question_counts(client)
    assert {k: after[k] - before[k] for k in after} == {"answered": 1, "refused": 2, "error": 0}


def test_a_failing_answer_counts_as_error(settings: Settings, embedder: Embedder) -> None:
    empty = settings.model_copy(update={"index_dir": settings.index_dir.parent / "no-index"})
    with TestClient(create_app(empty, embedder=embedder)) as client:
        before = question_counts(client)
        response = client.post("/api/v1/ask", json={"question": ANSWERED})
        after = question_counts(client)
    assert response.status_code == 503
    assert after["error"] - before["error"] == 1


def question_counts(client: TestClient) -> dict[str, float]:
    counts = {"answered": 0.0, "refused": 0.0, "error": 0.0}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "policybot_questions_total":
                counts[sample.labels["outcome"]] = sample.value
    return counts
