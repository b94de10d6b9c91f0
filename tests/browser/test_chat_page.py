"""The chat page in headless Chromium against a real server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, Route, expect

from tests.browser.conftest import ADMIN_TOKEN

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEED_QUESTION = "外籍员工的工作许可和居留能一起办吗？"
OFF_TOPIC = "今天济南天气怎么样？"
XSS_QUESTION = "高新区测试政策对测试补贴的材料有什么要求？"
ANSWER_TIMEOUT_MS = 30_000


def ask(page: Page, question: str) -> None:
    box = page.get_by_label("您的问题")
    box.fill(question)
    box.press("Enter")


def last_answer(page: Page) -> Locator:
    return page.locator(".turn").last.locator(".answer:not(.answer--pending)")


def test_seed_question_shows_marker_and_cited_passage(page: Page, output_dir: Path) -> None:
    ask(page, SEED_QUESTION)
    marker = last_answer(page).locator(".answer__text .marker[data-marker='1']")
    expect(marker).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(marker).to_have_text("[1]")
    expect(page.locator("#conversation")).to_have_attribute("aria-busy", "false")
    page.screenshot(path=str(output_dir / "answered.png"))

    marker.click()
    dialog = page.locator("#passage-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#passage-text mark")).to_contain_text("工作居留一件事")
    expect(dialog.locator("#passage-title")).to_contain_text("济南高新区")
    expect(dialog.locator("#passage-meta")).to_contain_text("2023-11")
    page.screenshot(path=str(output_dir / "passage.png"))

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.marker") == "1"


def test_source_card_opens_the_same_passage(page: Page) -> None:
    ask(page, SEED_QUESTION)
    card = last_answer(page).locator(".source-card").first
    expect(card).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    card.press("Enter")
    expect(page.locator("#passage-text mark")).to_contain_text("工作居留一件事")
    page.get_by_role("button", name="关闭").click()
    expect(page.locator("#passage-dialog")).to_be_hidden()
    assert page.evaluate("document.activeElement.classList.contains('source-card')")


def test_off_topic_question_is_refused_with_human_help(page: Page, output_dir: Path) -> None:
    ask(page, OFF_TOPIC)
    refusal = last_answer(page)
    expect(refusal).to_have_class("answer answer--refusal", timeout=ANSWER_TIMEOUT_MS)
    expect(refusal.locator(".answer__badge")).to_have_text("!未找到依据")
    expect(refusal.locator(".help")).to_contain_text("泉惠企")
    expect(refusal.locator(".help")).to_contain_text("首席政策官")
    colours = page.evaluate("""() => [
        getComputedStyle(document.querySelector('.answer--refusal')).backgroundColor,
        getComputedStyle(document.querySelector('.intro')).backgroundColor]""")
    assert colours[0] != colours[1], colours
    page.screenshot(path=str(output_dir / "refused.png"))


def test_pending_question_shows_progress_until_the_answer(page: Page) -> None:
    held: list[Route] = []
    page.route("**/api/v1/ask", lambda route: held.append(route))
    ask(page, SEED_QUESTION)
    pending = page.locator(".answer--pending")
    expect(pending).to_contain_text("正在检索政策文本")
    expect(pending).to_have_attribute("aria-busy", "true")
    expect(page.locator("#conversation")).to_have_attribute("aria-busy", "true")
    expect(page.get_by_role("button", name="发送")).to_be_disabled()
    for _ in range(50):  # the route handler runs while Playwright processes events
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1
    held[0].continue_()
    expect(last_answer(page).locator(".marker").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(pending).to_have_count(0)
    expect(page.locator("#conversation")).to_have_attribute("aria-busy", "false")


def test_shift_enter_adds_a_line_and_enter_sends(page: Page) -> None:
    box = page.get_by_label("您的问题")
    box.type("高新区对人才")
    box.press("Shift+Enter")
    box.type("有什么政策？")
    expect(box).to_have_value("高新区对人才\n有什么政策？")
    expect(page.locator(".turn")).to_have_count(0)
    box.press("Enter")
    expect(page.locator(".turn")).to_have_count(1)
    expect(box).to_have_value("")


def test_empty_question_cannot_be_sent(page: Page) -> None:
    send = page.get_by_role("button", name="发送")
    expect(send).to_be_disabled()
    box = page.get_by_label("您的问题")
    box.fill("   ")
    expect(send).to_be_disabled()
    box.press("Enter")
    expect(page.locator("#question-hint")).to_have_text("请先输入问题")
    expect(page.locator(".turn")).to_have_count(0)


def test_over_long_question_shows_error_and_retry_resends_it(page: Page,
                                                            output_dir: Path) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/api/v1/ask") else None)
    ask(page, "高" * 600)
    expect(page.locator("#question-count")).to_have_text("0/500")
    error = last_answer(page)
    expect(error.locator(".error-message")).to_contain_text("600 字", timeout=ANSWER_TIMEOUT_MS)
    expect(error.locator(".answer__detail")).to_contain_text("500")
    expect(error).to_have_attribute("role", "alert")
    page.screenshot(path=str(output_dir / "rejected.png"))

    error.get_by_role("button", name="重试").click()
    expect(last_answer(page).locator(".error-message")).to_contain_text("600 字")
    assert len(asked) == 2

    last_answer(page).get_by_role("button", name="修改问题").click()
    expect(page.get_by_label("您的问题")).to_have_value("高" * 600)
    expect(page.locator("#question-count")).to_have_text("600/500")
    expect(page.locator("#question-hint")).to_contain_text("超出 100 字")


def test_lost_connection_then_retry_gets_the_answer(page: Page) -> None:
    page.route("**/api/v1/ask", lambda route: route.abort("internetdisconnected"))
    ask(page, SEED_QUESTION)
    error = last_answer(page)
    expect(error.locator(".error-message")).to_contain_text("网络连接中断",
                                                            timeout=ANSWER_TIMEOUT_MS)
    page.unroute("**/api/v1/ask")
    error.get_by_role("button", name="重试").click()
    expect(last_answer(page).locator(".marker").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator(".turn")).to_have_count(1)


def test_server_error_shows_its_message(page: Page) -> None:
    page.route("**/api/v1/ask", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body='{"error": "no index loaded; run policybot reindex", "status": 503}'))
    ask(page, SEED_QUESTION)
    error = last_answer(page)
    expect(error.locator(".error-message")).to_contain_text("服务暂时不可用")
    expect(error.locator(".answer__detail")).to_contain_text("no index loaded")
    expect(error.get_by_role("button", name="重试")).to_be_visible()


def test_html_in_a_passage_shows_as_text_and_never_runs(page: Page) -> None:
    ask(page, XSS_QUESTION)
    answer = last_answer(page)
    expect(answer.locator(".answer__text")).to_contain_text("<script>",
                                                            timeout=ANSWER_TIMEOUT_MS)
    answer.locator(".source-card").first.click()
    passage = page.locator("#passage-text")
    expect(passage).to_contain_text("<script>window.__xss=1</script>")
    expect(passage).to_contain_text('<img src=x onerror="window.__xss=2">')
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#conversation script, #conversation img, #passage-text img").count() == 0


def test_thumbs_up_is_stored_for_staff(page: Page, server_url: str) -> None:
    ask(page, SEED_QUESTION)
    answer = last_answer(page)
    expect(answer.locator(".marker").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    answer.get_by_role("button", name="有帮助").click()
    expect(answer.locator(".feedback__status")).to_have_text("感谢反馈")

    listing = httpx.get(f"{server_url}/api/v1/feedback", timeout=10,
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert listing.status_code == 200, listing.text
    stored = [item for item in listing.json()["items"] if item["question"] == SEED_QUESTION]
    assert stored and stored[0]["helpful"] is True
    assert stored[0]["passage_ids"], stored[0]


def test_example_buttons_work_from_the_keyboard(page: Page) -> None:
    example = page.get_by_role("button", name="企业在哪里可以查到惠企政策？")
    example.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".bubble--question").last).to_have_text("问：企业在哪里可以查到惠企政策？")
    expect(last_answer(page).locator(".marker").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    outline = page.evaluate("""() => {
        const box = document.getElementById('question'); box.focus();
        return getComputedStyle(box).outlineStyle; }""")
    assert outline != "none"


def test_phone_width_has_no_horizontal_scroll(page: Page, output_dir: Path) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    ask(page, SEED_QUESTION)
    expect(last_answer(page).locator(".marker").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(output_dir / "phone.png"))
    last_answer(page).locator(".marker").first.click()
    expect(page.locator("#passage-dialog")).to_be_visible()
    box = page.locator("#passage-dialog").bounding_box()
    assert box is not None and box["width"] <= 375
    page.screenshot(path=str(output_dir / "phone-passage.png"))
