"""Reindexing never interrupts serving: a real server under queries, and a build killed with -9."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from service.answering.serving import IndexHolder
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.index.build import reindex
from service.index.store import current_version, load_current, versions_dir
from tests.filemakers import POLICY_PARAGRAPHS, make_pdf
from tests.servers import stop_process

pytestmark = pytest.mark.slow

TOKEN = "safety-token"
QUESTIONS = ["企业在哪里可以查到惠企政策？", "高新区有没有线下的企业服务站？一共有几家？",
             "“首席政策官”是做什么的？高新区有多少人？", "首次认定的国家高新技术企业奖励多少钱？"]
MAX_ASKS = 200


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """conftest's private copy of the seed corpus and index, with the admin API turned on."""
    return settings.model_copy(update={"admin_token": TOKEN})


def write_generated_documents(corpus: Path, count: int) -> None:
    """``count`` one-passage notices recombining sentences of the seed corpus, each with a
    fresh nonce so nothing is in the embedding cache and the build has to embed every one."""
    texts = [path.read_text("utf-8").split("\n---\n")[-1] for path in sorted(corpus.glob("*.txt"))]
    sentences = [s.strip() + "。" for text in texts for s in re.split("[。！？]", text)
                 if 15 <= len(s.strip()) <= 60]
    nonce = uuid.uuid4().hex[:8]
    rng = random.Random(nonce)
    folder = corpus / "generated"
    folder.mkdir()
    for number in range(count):
        body = "".join(rng.sample(sentences, 2))
        (folder / f"notice-{number:03d}.txt").write_text(
            f"第{number}号通知（编号{nonce}-{number}）\n\n{body}\n", "utf-8")


def server_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYBOT_")}
    env.update(POLICYBOT_CORPUS_DIR=str(settings.corpus_dir),
               POLICYBOT_INDEX_DIR=str(settings.index_dir),
               POLICYBOT_DATA_DIR=str(settings.data_dir),
               POLICYBOT_ADMIN_TOKEN=TOKEN, PYTHONUNBUFFERED="1",
               POLICYBOT_RATE_LIMIT_PER_MINUTE="0")  # one client asks all the questions
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[httpx.Client]:
    """``python -m service serve`` on a free port, as a client with the admin token."""
    port = free_port()
    with open(tmp_path / "server.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env(settings), stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60,
                          headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            wait_until_ready(client, process, tmp_path / "server.log")
            yield client
    finally:
        stop_process(process, 15)


def wait_until_ready(client: httpx.Client, process: subprocess.Popen, log: Path) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("server not ready after 60 s")


@dataclass
class AskLoop:
    """Questions posted one after another from a thread until stopped (at most MAX_ASKS)."""

    client: httpx.Client
    asks: list[tuple[float, float, int]] = field(default_factory=list)  # start, end, status
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Every other question is new, so its vector is not cached and needs the embedder."""
        for number in range(MAX_ASKS):
            if self.stop.is_set():
                return
            question = QUESTIONS[number % len(QUESTIONS)] if number % 2 else f"第{number}问：补贴？"
            started = time.monotonic()
            try:
                response = self.client.post("/api/v1/ask", json={"question": question})
                status = response.status_code
            except httpx.HTTPError as exc:
                status = -1
                print(f"ask failed: {exc!r}", file=sys.stderr)
            self.asks.append((started, time.monotonic(), status))
            time.sleep(0.05)  # bounded load: at most twenty questions a second

    def during(self, window: tuple[float, float]) -> int:
        """How many questions were in flight at some time inside ``window``."""
        return sum(1 for start, end, _ in self.asks if start < window[1] and end > window[0])


def test_questions_during_reindex_and_upload_all_succeed(
    server: httpx.Client, settings: Settings
) -> None:
    write_generated_documents(settings.corpus_dir, 24)  # a build of a few seconds
    for question in QUESTIONS:  # load jieba and warm the model before timing anything
        assert server.post("/api/v1/ask", json={"question": question}).status_code == 200
    loop = AskLoop(server)
    thread = threading.Thread(target=loop.run)
    thread.start()
    try:
        time.sleep(0.5)
        started = time.monotonic()
        job = server.post("/api/v1/reindex")
        status = poll_job(server, job.json()["job"]) if job.status_code == 202 else job.json()
        reindexing = (started, time.monotonic())
        added = server.post("/api/v1/documents",
                            files={"file": ("科技政策.pdf", make_pdf(POLICY_PARAGRAPHS))})
        uploading = (reindexing[1], time.monotonic())
        time.sleep(0.5)
    finally:
        loop.stop.set()
        thread.join(timeout=120)

    assert status["status"] == "done", status
    assert added.status_code == 201, added.text
    assert loop.during(reindexing) >= 1 and loop.during(uploading) >= 1
    assert {status for _, _, status in loop.asks} == {200}, loop.asks
    answer = server.post("/api/v1/ask", json={"question": QUESTIONS[-1]}).json()
    assert answer["found"] and answer["citations"][0]["document_id"] == "uploads/科技政策"
    slowest = max(end - start for start, end, _ in loop.asks)
    print(f"\nreindex of {status['result']['passages']} passages ({status['result']['embedded']} "
          f"embedded) {reindexing[1] - reindexing[0]:.1f}s; upload to searchable "
          f"{uploading[1] - uploading[0]:.2f}s; {len(loop.asks)} questions "
          f"({loop.during(reindexing)} during the reindex), slowest {slowest:.2f}s")


def poll_job(client: httpx.Client, job: str) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/reindex/{job}").json()
        if status["status"] != "running":
            return status
        time.sleep(0.2)
    raise AssertionError(f"reindex job {job} still running after 120 s")


def test_reindex_killed_mid_embedding_leaves_the_served_index_intact(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    previous = current_version(settings.index_dir)
    write_generated_documents(settings.corpus_dir, 150)
    stderr_path = tmp_path / "reindex.err"
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "service", "reindex"],
                                   env=server_env(settings), stdout=subprocess.DEVNULL,
                                   stderr=stderr)
    try:
        embedded_before_kill = wait_for_embedding_progress(process, settings, stderr_path)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    stale = list(settings.index_dir.glob(".build-*"))
    assert stale, "the killed build should have left its .build folder"
    assert current_version(settings.index_dir) == previous
    assert load_current(settings.index_dir, embedder.name).version == previous
    holder = IndexHolder(settings, embedder)
    holder.refresh()
    answer = holder.snapshot().answerer.answer(QUESTIONS[0])
    assert holder.snapshot().version == previous and answer.found

    result = reindex(settings, embedder, progress=False)

    assert current_version(settings.index_dir) == result.version != previous
    assert not any(path.exists() for path in stale)
    assert result.documents == 152
    assert result.embedded <= result.passages - embedded_before_kill  # the cache kept them
    assert sorted(p.name for p in versions_dir(settings.index_dir).iterdir())[-1] == result.version


def wait_for_embedding_progress(process: subprocess.Popen, settings: Settings,  # type: ignore[type-arg]
                                stderr_path: Path) -> int:
    """Wait until the build folder exists and one batch of vectors is stored; return how many."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, stderr_path.read_text(errors="replace")[-2000:]
        progress = stderr_path.read_text(errors="replace")
        done = [int(n) for n in re.findall(r"(\d+)/\d+ \[", progress)]
        if done and max(done) > 0 and list(settings.index_dir.glob(".build-*")):
            return max(done)
        time.sleep(0.05)
    raise AssertionError("the reindex never showed embedding progress")
