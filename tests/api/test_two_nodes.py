"""Two apps (two nodes) with their own data folders, sharing one PostgreSQL database: each
sees the other's feedback, unanswered questions and reindex jobs, and one reindex runs at a
time across both (409 on the other)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.core.settings import Settings
from service.index.build_lock import build_lock
from tests.conftest import make_settings
from tests.fakes import BigramEmbedder

TOKEN = "two-nodes-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def node_settings(root: Path, fast_index: Settings, url: str) -> Settings:
    for folder in ("corpus", "index", "data"):
        shutil.copytree(getattr(fast_index, f"{folder}_dir"), root / folder)
    return make_settings(root, database_url=url, admin_token=TOKEN, refusal_dense_weight=0.0)


@pytest.fixture
def nodes(tmp_path: Path, fast_index: Settings,
          postgres_url: str) -> Iterator[tuple[TestClient, TestClient]]:
    embedder = BigramEmbedder()
    node_a = node_settings(tmp_path / "a", fast_index, postgres_url)
    node_b = node_settings(tmp_path / "b", fast_index, postgres_url)
    with TestClient(create_app(node_a, embedder)) as a, TestClient(create_app(node_b, embedder)) as b:
        yield a, b


def get(client: TestClient, path: str) -> Any:
    response = client.get(path, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(client: TestClient, job: str) -> Any:
    deadline = time.monotonic() + 60
    while (status := get(client, f"/api/v1/reindex/{job}"))["status"] == "running":
        assert time.monotonic() < deadline, "the job still runs after 60 s"
        time.sleep(0.05)
    return status


def test_feedback_sent_to_one_node_is_listed_by_the_other(
        nodes: tuple[TestClient, TestClient]) -> None:
    a, b = nodes
    sent = a.post("/api/v1/feedback", json={"question": "研发补贴？", "answer": "……[1]",
                                            "passage_ids": ["p#1"], "helpful": False})
    assert sent.status_code == 201
    listed = get(b, "/api/v1/feedback")
    assert listed["total"] == 1 and listed["items"][0]["id"] == sent.json()["id"]


def test_a_question_refused_by_one_node_is_listed_by_the_other(
        nodes: tuple[TestClient, TestClient]) -> None:
    a, b = nodes
    answer = a.post("/api/v1/ask", json={"question": "上海浦东新区的人才公寓怎么申请？"}).json()
    assert answer["found"] is False
    assert [i["question"] for i in get(b, "/api/v1/unanswered")["items"]] == \
        ["上海浦东新区的人才公寓怎么申请？"]


def test_a_reindex_started_on_one_node_is_reported_by_the_other(
        nodes: tuple[TestClient, TestClient]) -> None:
    a, b = nodes
    job = a.post("/api/v1/reindex", headers=AUTH).json()["job"]
    status = wait_for(b, job)
    assert status["status"] == "done" and status["result"]["passages"] > 0
    assert job in [j["job"] for j in get(b, "/api/v1/reindex")["jobs"]]


def test_a_build_on_one_node_makes_the_others_reindex_a_409(
        nodes: tuple[TestClient, TestClient]) -> None:
    a, b = nodes
    with build_lock(a.app.state.settings):
        refused = b.post("/api/v1/reindex", headers=AUTH)
    assert refused.status_code == 409
    assert "a reindex is already running on a node sharing the database" in \
        refused.json()["error"]
    again = b.post("/api/v1/reindex", headers=AUTH)  # free again
    assert again.status_code == 202
    wait_for(b, again.json()["job"])
