"""JSON access lines: one per request, with a request id that is echoed; no secrets, and no
question texts unless POLICYBOT_LOG_QUESTIONS=on."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.core.json_logs import JsonFormatter
from service.core.settings import Settings
from service.embedding.embedders import Embedder

TOKEN = "s3cret-admin-token-0123456789"
QUESTION = "外籍员工的工作许可和居留能一起办吗？"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin_token": TOKEN})


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Every record the service logged (not the test client's own), as the JSON lines
    `policybot serve` would print."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records
            if record.name.startswith(("policybot", "uvicorn", "fastapi", "starlette"))]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [line for line in lines(caplog) if line["logger"] == "policybot.access"]


def test_one_access_line_per_request_with_its_id(client: TestClient,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    response = client.delete("/api/v1/documents/a/b")  # no token: 401, a templated route
    [line] = access_lines(caplog)
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert line["request_id"] == response.headers["x-request-id"]
    assert (line["method"], line["route"], line["path"], line["status"]) == (
        "DELETE", "/api/v1/documents/{document_id:path}", "/api/v1/documents/a/b", 401)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


@pytest.mark.parametrize(("sent", "kept"), [
    ("req-42.abc_DEF", True), ("x" * 64, True), ("x" * 65, False), ("bad id", False),
    ("a\u00e9", False), ("", False),
])
def test_a_sane_incoming_request_id_is_kept(client: TestClient, sent: str, kept: bool,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    response = client.get("/healthz", headers={"X-Request-ID": sent.encode("utf-8")})
    echoed = response.headers["x-request-id"]
    assert (echoed == sent) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", echoed)
    assert access_lines(caplog)[0]["request_id"] == echoed


def test_secrets_and_questions_never_reach_the_log(client: TestClient,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    client.get("/api/v1/feedback", headers=auth)
    client.get("/api/v1/feedback", headers={"Authorization": "Bearer wrong-guess-987"})
    client.get(f"/api/v1/unanswered?token={TOKEN}", headers=auth)
    client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth)
    client.post("/api/v1/documents", headers=auth, files={"file": ("x.exe", b"MZ")})
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines(caplog))
    assert len(access_lines(caplog)) == 5
    for secret in (TOKEN, "wrong-guess-987", "Bearer", QUESTION):
        assert secret not in text
    ask_line = next(line for line in access_lines(caplog) if line["route"] == "/api/v1/ask")
    assert ask_line["outcome"] == "answered" and "question" not in ask_line


def test_questions_are_logged_when_asked_to(settings: Settings, embedder: Embedder,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    app = create_app(settings.model_copy(update={"log_questions": True}), embedder=embedder)
    with TestClient(app) as client:
        client.post("/api/v1/ask", json={"question": QUESTION})
    [line] = [line for line in access_lines(caplog) if line["route"] == "/api/v1/ask"]
    assert line["question"] == QUESTION and line["status"] == 200


def test_cors_is_off_by_default_and_on_for_listed_origins(settings: Settings,
                                                          embedder: Embedder) -> None:
    portal = "https://portal.example.cn"
    preflight = {"Origin": portal, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    with TestClient(create_app(settings, embedder=embedder)) as closed:
        refused = closed.options("/api/v1/ask", headers=preflight)
        plain = closed.get("/healthz", headers={"Origin": portal})
    opened = settings.model_copy(update={"cors_origins": f"{portal}, https://b.example.cn"})
    with TestClient(create_app(opened, embedder=embedder)) as client:
        allowed = client.options("/api/v1/ask", headers=preflight)
        other = client.options("/api/v1/ask", headers={**preflight, "Origin": "https://evil.example"})
        simple = client.get("/healthz", headers={"Origin": portal})
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-origin" not in plain.headers
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == portal
    assert "access-control-allow-origin" not in other.headers
    assert simple.headers["access-control-allow-origin"] == portal
