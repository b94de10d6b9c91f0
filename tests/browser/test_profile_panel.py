"""The chat page's 企业画像 panel: chosen from the taxonomy, sent with questions, remembered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.test_chat_page import ANSWER_TIMEOUT_MS, ask, last_answer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHOICES = {"行业": "生物医药与大健康", "资质": "专精特新", "需求": ("金融", "人才")}
SENT = {"industries": ["生物医药与大健康"], "qualifications": ["专精特新"],
        "needs": ["金融", "人才"]}


def open_panel(page: Page) -> Locator:
    panel = page.locator("#profile-panel")
    expect(panel).to_be_visible()  # shown once the taxonomy has loaded
    page.get_by_text("企业画像（可选）").click()
    expect(panel).to_have_attribute("open", "")
    return panel


def option(panel: Locator, legend: str, name: str) -> Locator:
    return panel.get_by_role("group", name=legend, exact=True).get_by_role(
        "checkbox", name=name, exact=True)


def choose_biomed_profile(panel: Locator) -> None:
    for legend, names in CHOICES.items():
        for name in (names,) if isinstance(names, str) else names:
            option(panel, legend, name).check()


def test_profile_is_sent_with_the_question_and_restored_after_reload(
    page: Page, output_dir: Path,
) -> None:
    panel = open_panel(page)
    choose_biomed_profile(panel)
    expect(page.locator("#profile-summary")).to_have_text(
        "已选：行业：生物医药与大健康；资质：专精特新；需求：金融、人才")
    expect(page.locator("#profile-active")).to_contain_text("生物医药与大健康、专精特新、金融、人才")

    with page.expect_request("**/api/v1/ask") as request:
        ask(page, "有哪些政策适合我们？")
    assert json.loads(request.value.post_data or "{}")["profile"] == SENT
    answer = last_answer(page)
    expect(answer.locator(".answer__text")).to_contain_text("共", timeout=ANSWER_TIMEOUT_MS)
    expect(answer.locator(".answer__text .marker[data-marker='1']").first).to_have_text("[1]")
    expect(answer.locator(".answer__group").first).to_be_visible()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.screenshot(path=str(output_dir / "profile.png"))

    page.reload(wait_until="load")
    panel = open_panel(page)
    for legend, names in CHOICES.items():
        for name in (names,) if isinstance(names, str) else names:
            expect(option(panel, legend, name)).to_be_checked()
    expect(panel.get_by_role("checkbox", checked=True)).to_have_count(4)
    expect(page.locator("#profile-count")).to_have_text("已选 4 项")
    stored = page.evaluate("JSON.parse(localStorage.getItem('policybot.profile'))")
    assert stored == SENT


def test_clear_empties_the_profile_and_questions_go_without_one(page: Page) -> None:
    panel = open_panel(page)
    option(panel, "资质", "专精特新").check()
    panel.get_by_role("checkbox", name="有外籍员工").check()
    expect(page.locator("#profile-active")).to_be_visible()

    panel.get_by_role("button", name="清除").click()

    expect(panel.get_by_role("checkbox", checked=True)).to_have_count(0)
    expect(page.locator("#profile-summary")).to_contain_text("未选择")
    expect(page.locator("#profile-active")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('policybot.profile')") is None
    with page.expect_request("**/api/v1/ask") as request:
        ask(page, "济高人才2.0是什么")
    assert "profile" not in json.loads(request.value.post_data or "{}")


def test_panel_works_from_the_keyboard(page: Page) -> None:
    expect(page.locator("#profile-panel")).to_be_visible()
    summary = page.locator("#profile-panel summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#profile-panel")).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    first = page.locator("#profile-facets input").first
    expect(first).to_be_focused()
    expect(first).to_be_checked()
    expect(page.locator("#profile-count")).to_have_text("已选 1 项")


def test_panel_fits_a_phone(page: Page, output_dir: Path) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    panel = open_panel(page)
    choose_biomed_profile(panel)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.screenshot(path=str(output_dir / "profile-phone.png"))
