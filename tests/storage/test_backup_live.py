"""`policybot backup` while a real server answers a bounded load of questions and takes
feedback; the backup restored into empty folders serves the same documents, the same
answers, and holds the same feedback rows."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from service.core.settings import Settings
from tests.conftest import REPO, make_settings
from tests.filemakers import POLICY_PARAGRAPHS, POLICY_TITLE
from tests.servers import running_server, server_env

pytestmark = pytest.mark.slow
TOKEN = "backup-live-token"
QUESTIONS = ["外籍员工的工作许可和居留能一起办吗？", "企业在哪里可以查到惠企政策？",
             "首次认定的国家高新技术企业奖励多少钱？", "上海浦东新区的人才公寓怎么申请？"]
MAX_LOAD = 2000  # questions per load thread at most (two threads), until the backup ends


def ask_all(client: httpx.Client) -> list[dict]:  # type: ignore[type-arg]
    answers = []
    for question in QUESTIONS:
        body = client.post("/api/v1/ask", json={"question": question}).json()
        answers.append({"answer": body["answer"], "found": body["found"],
                        "passages": [c["passage_id"] for c in body["citations"]]})
    return answers


def load(url: str, errors: list[str], asked: list[float], done: threading.Event,
         feedback: bool) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        for number in range(MAX_LOAD):
            if done.is_set():
                return
            question = QUESTIONS[number % len(QUESTIONS)]
            response = client.post("/api/v1/ask", json={"question": question})
            asked.append(time.monotonic())
            if response.status_code != 200:
                errors.append(response.text)
            if feedback and number % 4 == 0:
                client.post("/api/v1/feedback", json={"question": question, "answer": "答",
                                                      "helpful": number % 8 == 0})


def test_backup_under_load_restores_the_same_service(settings: Settings, tmp_path: Path) -> None:
    target = tmp_path / "backup"
    with running_server(settings, tmp_path / "server.log", token=TOKEN) as server:
        added = server.client.post("/api/v1/documents", json={
            "title": POLICY_TITLE, "text": "\n\n".join(POLICY_PARAGRAPHS), "date": "2025-03"})
        assert added.status_code == 201, added.text
        errors: list[str] = []
        asked: list[float] = []
        done = threading.Event()
        threads = [threading.Thread(target=load, args=(server.url, errors, asked, done, feedback))
                   for feedback in (True, False)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "service", "backup", str(target)],
                                env=server_env(settings, TOKEN), cwd=REPO, capture_output=True,
                                text=True, timeout=300)
        ended = time.monotonic()
        done.set()
        for thread in threads:
            thread.join(timeout=300)
        assert result.returncode == 0, result.stderr
        assert sum(started <= at <= ended for at in asked) > 0, "no question during the backup"
        assert not errors
        documents = server.client.get("/api/v1/documents").json()
        answers = ask_all(server.client)
        feedback = server.client.get("/api/v1/feedback", params={"limit": 500}).json()
    restored = make_settings(tmp_path / "restored")
    result = subprocess.run([sys.executable, "-m", "service", "restore", str(target)],
                            env=server_env(restored, TOKEN), cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with running_server(restored, tmp_path / "restored.log", token=TOKEN) as server:
        assert server.client.get("/api/v1/documents").json() == documents
        assert ask_all(server.client) == answers
        restored_feedback = server.client.get("/api/v1/feedback", params={"limit": 500}).json()
    # the backup is a snapshot taken during the load: its rows are the live rows up to it
    assert 0 < restored_feedback["total"] <= feedback["total"]
    assert restored_feedback["items"] == feedback["items"][-restored_feedback["total"]:]
