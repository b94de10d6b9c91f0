"""A real `policybot serve` subprocess over a tmp corpus, and headless Debian Chromium.

The corpus is the bundled seed corpus plus ``corpus/xss.txt``, a policy-like text whose
sentences carry HTML that must show as text, never run. Chromium comes from
`bash .ci/install-browser`; Playwright only drives it (never `playwright install`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.llm_double import LLMDouble, running_double
from tests.servers import stop_process

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = REPO / "tests" / "output" / "browser"
READY_TIMEOUT_S = 120
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
EXTRA_CORPUS = Path(__file__).resolve().parent / "corpus"
ADMIN_TOKEN = "browser-admin-token"  # staff reads (feedback) always need it


@dataclass
class Server:
    url: str
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n"
                               f"{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"/readyz not 200 after {READY_TIMEOUT_S}s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    stop_process(process, 15)


@contextmanager
def _serve(root: Path, **env_extra: str) -> Iterator[str]:
    """`python -m service serve` over the seed corpus + xss.txt in ``root``, on a free port."""
    corpus = root / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    shutil.copy(EXTRA_CORPUS / "xss.txt", corpus / "xss.txt")
    env = {**os.environ, "POLICYBOT_CORPUS_DIR": str(corpus),
           "POLICYBOT_INDEX_DIR": str(root / "index"), "POLICYBOT_DATA_DIR": str(root / "data"),
           "POLICYBOT_ADMIN_TOKEN": ADMIN_TOKEN, "POLICYBOT_RATE_LIMIT_PER_MINUTE": "0",
           **env_extra}
    port = _free_port()
    log = root / "server.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
    running = Server(url=f"http://127.0.0.1:{port}", log=log, process=process)
    try:
        _wait_ready(running)
        yield running.url
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of `python -m service serve` on a free port (it builds the index)."""
    with _serve(tmp_path_factory.mktemp("browser")) as url:
        yield url


@pytest.fixture(scope="session")
def llm_double() -> Iterator[LLMDouble]:
    """The OpenAI-protocol test double (not a model: it replays scripted replies)."""
    with running_double() as double:
        yield double


@pytest.fixture(scope="session")
def llm_server_url(tmp_path_factory: pytest.TempPathFactory, llm_double: LLMDouble) -> Iterator[str]:
    """A second server, configured with the LLM test double."""
    with _serve(tmp_path_factory.mktemp("browser-llm"), POLICYBOT_LLM_BASE_URL=llm_double.url,
                POLICYBOT_LLM_TIMEOUT_S="10") as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run `bash .ci/install-browser`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def _open(browser: Browser, url: str) -> Iterator[Page]:
    """A fresh page on ``url``; the test fails on a script error or a CSP violation."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}")
            if "Content Security Policy" in message.text else None)
    try:
        page.goto(url + "/", wait_until="load")
        yield page
    finally:
        context.close()
    assert not problems, problems


@pytest.fixture()
def page(browser: Browser, server_url: str) -> Iterator[Page]:
    """A fresh page on the chat page; the test fails on a script error or a CSP violation."""
    with _open(browser, server_url) as opened:
        yield opened


@pytest.fixture()
def llm_page(browser: Browser, llm_server_url: str) -> Iterator[Page]:
    """The chat page of the server that writes answers with the LLM test double."""
    with _open(browser, llm_server_url) as opened:
        yield opened


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
