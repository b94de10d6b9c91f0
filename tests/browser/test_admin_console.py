"""The staff console at /admin in headless Chromium against a real `policybot serve`:
sign in, upload a GBK text, watch its rebuild and a full reindex, ask the new question in
the chat page and get it cited, rate an answer, delete the document, see a refused
question in the unanswered list, and export both lists as CSV (BOM, Chinese intact)."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from service.core.settings import Settings
from tests.conftest import make_settings
from tests.filemakers import POLICY_PARAGRAPHS, POLICY_TITLE
from tests.servers import RunningServer, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN = "console-test-token-8d1f"
NEW_QUESTION = "首次认定的国家高新技术企业奖励多少钱？"
REFUSED = "济南高新区的无人机表演几点开始？"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def server(seed_index: Settings, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("console")
    for name in ("corpus_dir", "index_dir", "data_dir"):
        shutil.copytree(getattr(seed_index, name), root / getattr(seed_index, name).name)
    with running_server(make_settings(root), root / "server.log", token=TOKEN) as running:
        yield running


@pytest.fixture
def page(browser: Browser, server: RunningServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                  accept_downloads=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}")
            if "Content Security Policy" in message.text else None)
    try:
        page.goto(server.url + "/admin", wait_until="load")
        yield page
    finally:
        context.close()
    assert not problems, problems


def sign_in(page: Page, token: str = TOKEN) -> None:
    page.get_by_label("管理令牌").fill(token)
    page.get_by_role("button", name="登录").click()


def view(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def csv_download(page: Page, button: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("button", name=button).click()
    return Path(info.value.path()).read_bytes()


def test_a_wrong_token_gets_a_clear_message(page: Page) -> None:
    sign_in(page, "not-the-token")
    expect(page.locator("#signin-error")).to_have_text("令牌不正确，请检查后重新输入。")
    expect(page.locator("#console")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0


def test_staff_workflow(page: Page, server: RunningServer, output_dir: Path,
                        browser: Browser) -> None:
    sign_in(page)
    expect(page.locator("#console")).to_be_visible()
    expect(page.locator("#documents-body tr")).to_have_count(2)
    assert page.evaluate("sessionStorage.getItem('policybot.adminToken')") == TOKEN

    # a refused file (dropped on the drop zone): the server's message, as is
    dropped = page.evaluate_handle("""() => { const dt = new DataTransfer();
        dt.items.add(new File(["\\u0000\\u0001binary"], "坏文件.txt", {type: "text/plain"}));
        return dt; }""")
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": dropped})
    expect(page.locator("#upload-chosen")).to_contain_text("坏文件.txt")
    page.get_by_role("button", name="上传并重建索引").click()
    refusal = server.client.post("/api/v1/documents", files={
        "file": ("坏文件.txt", b"\x00\x01binary")}).json()["error"]
    expect(page.locator("#upload-result")).to_have_text(refusal)

    # a GBK text through the file picker, with title, source and date
    text = "\n\n".join(POLICY_PARAGRAPHS)
    page.locator("#upload-file").set_input_files(
        {"name": "科技创新政策.txt", "mimeType": "text/plain", "buffer": text.encode("gbk")})
    page.get_by_label("标题").fill(POLICY_TITLE)
    page.get_by_label("来源").fill("济南高新区管委会")
    page.get_by_label("日期").fill("2025-03")
    page.get_by_role("button", name="上传并重建索引").click()
    expect(page.locator("#upload-result")).to_contain_text("已加入索引", timeout=TIMEOUT_MS)
    expect(page.locator("#upload-result")).to_contain_text(POLICY_TITLE)
    expect(page.locator("#upload-bar")).to_have_attribute("value", "100")
    expect(page.locator("#documents-body tr")).to_have_count(3)
    page.get_by_label("筛选").fill("管委会")
    expect(page.locator("#documents-body tr")).to_have_count(1)
    expect(page.locator("#documents-body")).to_contain_text("uploads/科技创新政策")
    page.screenshot(path=str(output_dir / "admin-documents.png"), full_page=True)

    # a full reindex with live progress; the jobs list shows it and the upload's rebuild
    view(page, "重建索引")
    page.get_by_role("button", name="开始重建").click()
    expect(page.locator("#reindex-result")).to_contain_text("索引已重建", timeout=TIMEOUT_MS)
    rows = page.locator("#jobs-body tr")
    expect(rows.first).to_contain_text("重建索引")
    expect(rows.first).to_contain_text("完成")
    expect(page.locator("#jobs-body")).to_contain_text("上传")
    page.screenshot(path=str(output_dir / "admin-reindex.png"), full_page=True)

    # the chat page cites the new policy; a question the texts do not cover is refused
    chat = page.context.new_page()
    chat.goto(server.url + "/")
    for question in (NEW_QUESTION, REFUSED):
        chat.get_by_label("您的问题").fill(question)
        chat.get_by_label("您的问题").press("Enter")
        expect(chat.locator(".turn").last.locator(".answer:not(.answer--pending)")).to_be_visible(
            timeout=TIMEOUT_MS)
    answers = chat.locator(".turn .answer")
    expect(answers.first.locator(".source-card__title").first).to_have_text(POLICY_TITLE)
    expect(answers.last).to_have_class("answer answer--refusal")
    answers.first.locator(".feedback__button[data-helpful='false']").click()
    expect(answers.first.locator(".feedback__status")).to_have_text("感谢反馈")

    # feedback: filtered, and exported as CSV with a BOM
    view(page, "用户反馈")
    page.get_by_label("显示").select_option("false")
    expect(page.locator("#feedback-list .item")).to_have_count(1)
    expect(page.locator("#feedback-list")).to_contain_text(NEW_QUESTION)
    page.screenshot(path=str(output_dir / "admin-feedback.png"), full_page=True)
    exported = csv_download(page, "导出 CSV")
    assert exported.startswith(b"\xef\xbb\xbf")
    rows_out = list(csv.reader(io.StringIO(exported.decode("utf-8-sig"))))
    assert rows_out[1][2:4] == ["not helpful", NEW_QUESTION]

    # the unanswered list shows the refused question; CSV with BOM and Chinese
    view(page, "未答问题")
    expect(page.locator("#unanswered-body")).to_contain_text(REFUSED)
    expect(page.locator("#unanswered-body")).not_to_contain_text(NEW_QUESTION)
    page.screenshot(path=str(output_dir / "admin-unanswered.png"), full_page=True)
    exported = page.locator("#view-unanswered").get_by_role("button", name="导出 CSV")
    with page.expect_download() as info:
        exported.click()
    data = Path(info.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and REFUSED.encode("utf-8") in data

    # delete the upload, with confirmation; the chat no longer cites it
    view(page, "文档")
    page.get_by_role("button", name=f"删除 {POLICY_TITLE}").click()
    expect(page.locator("#confirm-text")).to_contain_text(POLICY_TITLE)
    page.locator("#confirm-ok").click()
    expect(page.locator("#upload-result")).to_contain_text("已删除", timeout=TIMEOUT_MS)
    expect(page.locator("#documents-body tr")).to_have_count(0)  # the filter still applies
    page.get_by_label("筛选").fill("")
    expect(page.locator("#documents-body tr")).to_have_count(2)
    answer = server.client.post("/api/v1/ask", json={"question": NEW_QUESTION}).json()
    assert POLICY_TITLE not in [c["title"] for c in answer["citations"]]
