"""Stateless replicas, proven: two ``policybot serve`` nodes with separate empty data
folders share one PostgreSQL (feedback, jobs, uploads, the build lock) and one Milvus Lite
server (every index version, behind an alias). Real servers, the real embedder.

Node A takes an upload; node B answers from it within seconds; both give the same answers
throughout a bounded question load and no request fails. Then A is killed (SIGKILL) in the
middle of a rebuild: B still serves the previous version, and a new reindex on B succeeds.
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.core.settings import Settings
from tests.conftest import make_settings
from tests.servers import RunningServer, milvus_lite_server, running_server

pytestmark = pytest.mark.slow

TOKEN = "replicas-token"
CORPUS = Path(__file__).resolve().parents[2] / "corpus"  # the bundled corpus, as in the image
QUESTIONS = ("外籍员工的工作和居留能一起办吗？", "我们是专精特新企业，能享受哪些政策？",
             "高新区的科创金融有哪些产品？")
NEW_QUESTION = "无人机企业首次取得适航证有多少奖励？"
NEW_DOCUMENT = ("济南高新区低空经济产业扶持办法\n\n"
                "对区内无人机企业首次取得民航适航证的，给予一次性奖励八十万元。"
                "对新建低空飞行服务站的，按建设投资的百分之三十给予补助，最高不超过二百万元。\n")
SETTLE_S = 20  # B follows the alias within this (it polls every few seconds)


def node_settings(root: Path) -> Settings:
    """A node as a container starts it: the image's corpus, an empty data folder."""
    shutil.copytree(CORPUS, root / "corpus")
    return make_settings(root)


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[tuple[RunningServer, RunningServer]]:
    with ExitStack() as stack:
        milvus_uri = stack.enter_context(milvus_lite_server(tmp_path / "milvus"))
        shared = {"POLICYBOT_DATABASE_URL": postgres_url, "POLICYBOT_VECTOR_STORE": "milvus",
                  "POLICYBOT_MILVUS_URI": milvus_uri, "POLICYBOT_MILVUS_COLLECTION": "replicas"}
        a = stack.enter_context(running_server(node_settings(tmp_path / "a"), tmp_path / "a.log",
                                               token=TOKEN, **shared))
        b = stack.enter_context(running_server(node_settings(tmp_path / "b"), tmp_path / "b.log",
                                               token=TOKEN, **shared))
        yield a, b


def ask(node: RunningServer, question: str) -> dict[str, Any]:
    response = node.client.post("/api/v1/ask", json={"question": question})
    assert response.status_code == 200, response.text
    body = response.json()
    return {"answer": body["answer"], "found": body["found"],
            "cited": [c["passage_id"] for c in body["citations"]],
            "documents": sorted({c["document_id"] for c in body["citations"]})}


def both_agree(a: RunningServer, b: RunningServer, rounds: int) -> list[dict[str, Any]]:
    """``rounds`` of every question to both nodes; each pair of answers must be equal."""
    answers = []
    for _ in range(rounds):
        for question in QUESTIONS:
            from_a, from_b = ask(a, question), ask(b, question)
            assert from_a == from_b, (question, from_a, from_b)
            answers.append(from_a)
    return answers


class Load:
    """A bounded question load on both nodes in the background (at most ``limit`` requests,
    each node's own client); every status code is kept."""

    def __init__(self, nodes: tuple[RunningServer, ...], limit: int = 400) -> None:
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(nodes, limit), daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self, nodes: tuple[RunningServer, ...], limit: int) -> None:
        clients = [httpx.Client(base_url=n.client.base_url, timeout=60) for n in nodes]
        try:
            for number in range(limit):
                if self._stop.is_set():
                    return
                client = clients[number % len(clients)]
                question = QUESTIONS[number % len(QUESTIONS)]
                self.statuses.append(
                    client.post("/api/v1/ask", json={"question": question}).status_code)
        finally:
            for client in clients:
                client.close()


def wait_until(check, seconds: float, what: str) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"{what} not within {seconds} s"
        time.sleep(0.2)
    return time.monotonic() - started


def test_two_replicas_share_uploads_answers_and_survive_a_killed_build(
        replicas: tuple[RunningServer, RunningServer], tmp_path: Path) -> None:
    a, b = replicas
    before = both_agree(a, b, rounds=3)
    assert any(answer["found"] for answer in before)
    assert not ask(b, NEW_QUESTION)["found"]

    with Load((a, b)) as load:
        added = a.client.post("/api/v1/documents", json={"title": "低空经济扶持办法",
                                                         "text": NEW_DOCUMENT,
                                                         "id": "low-altitude"})
        assert added.status_code == 201, added.text
        assert ask(a, NEW_QUESTION)["found"]
        waited = wait_until(lambda: ask(b, NEW_QUESTION)["found"], SETTLE_S,
                            "node B answering from A's upload")
    assert load.statuses and set(load.statuses) == {200}
    assert "low-altitude" in ask(a, NEW_QUESTION)["documents"]
    assert ask(a, NEW_QUESTION) == ask(b, NEW_QUESTION)
    both_agree(a, b, rounds=2)
    print(f"node B answered from the upload {waited:.1f} s after node A's upload returned")

    served = [ask(b, question) for question in (*QUESTIONS, NEW_QUESTION, BIG_QUESTION)]
    assert "satellite" not in served[-1]["documents"]
    killed_mid_build(a)
    assert a.process.poll() is not None
    assert [ask(b, question) for question in (*QUESTIONS, NEW_QUESTION, BIG_QUESTION)] == served

    with Load((b,)) as load:
        job = b.client.post("/api/v1/reindex")
        assert job.status_code == 202, job.text  # A's build lock died with A
        status_of = lambda: b.client.get(f"/api/v1/reindex/{job.json()['job']}").json()  # noqa: E731
        wait_until(lambda: status_of()["status"] != "running", 300, "node B's reindex")
    assert load.statuses and set(load.statuses) == {200}
    assert status_of()["status"] == "done", status_of()
    wait_until(lambda: "satellite" in ask(b, BIG_QUESTION)["documents"], SETTLE_S,
               "node B serving its own rebuild")
    assert ask(b, NEW_QUESTION)["found"]


BIG_QUESTION = "卫星互联网企业发射第一颗卫星有什么补贴？"


def big_document() -> str:
    """A notice long enough (about 60 passages) that its rebuild is still embedding when A
    is killed; one clause of it answers ``BIG_QUESTION``."""
    clauses = [f"第{n}条 对区内第{n}类科技企业开展研发活动的，按研发投入给予相应补助，具体标准另行制定。"
               for n in range(1, 300)]
    clauses.insert(150, "第一百五十条 对卫星互联网企业成功发射第一颗卫星的，给予一次性补贴五百万元。")
    return "济南高新区科技企业扶持细则\n\n" + "\n".join(clauses) + "\n"


def killed_mid_build(a: RunningServer) -> None:
    """Upload the long notice through A and SIGKILL A while its rebuild embeds."""
    def upload() -> None:
        with httpx.Client(base_url=a.client.base_url, headers=a.client.headers,
                          timeout=300) as own:
            try:
                own.post("/api/v1/documents", json={"title": "科技企业扶持细则",
                                                    "text": big_document(), "id": "satellite"})
            except httpx.HTTPError:
                pass  # A dies under it
    thread = threading.Thread(target=upload, daemon=True)
    thread.start()

    def embedding() -> bool:
        jobs = a.client.get("/api/v1/reindex").json()["jobs"]
        return any(job["status"] == "running" and job["stage"] == "embedded"
                   and 0 < job["done"] < job["total"] for job in jobs)
    wait_until(embedding, 120, "node A's rebuild embedding")
    a.process.send_signal(signal.SIGKILL)
    a.process.wait(timeout=20)
    thread.join(timeout=30)
