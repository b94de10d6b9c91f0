"""The 「包含已失效政策」 toggle and the policy line of a citation, in headless Chromium."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.browser.test_chat_page import ANSWER_TIMEOUT_MS, SEED_QUESTION, ask, last_answer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOSTILE_AGENCY = '<img src=x onerror="window.pwned=1">管委会'
EXPIRED_ANSWER = {
    "answer": "对派出企业按每人每月500元给予共享用工补贴。[1]", "found": True, "took_ms": 1.0,
    "mode": "extractive", "dropped": 0, "fallback_reason": None, "standalone_question": None,
    "citations": [{
        "marker": 1, "passage_id": "notices/share-staff-2020#1",
        "document_id": "notices/share-staff-2020", "title": "关于支持企业共享用工的通知",
        "text": "对派出企业按每人每月500元给予共享用工补贴。", "start": 0, "end": 22, "score": 1.0,
        "quote": "对派出企业按每人每月500元给予共享用工补贴。", "quote_start": 0, "quote_end": 22,
        "heading": "", "source": None, "date": None,
        "policy": {"agency": HOSTILE_AGENCY, "doc_number": "济高管发〔2020〕8号",
                   "issued": "2020-03-02", "effective": "2020-03-02", "expires": "2020-12-31",
                   "replaces": [], "status": "expired", "status_label": "已失效",
                   "replaced_by": None},
    }],
}


def test_the_toggle_sends_include_expired_and_the_citation_says_expired(page: Page) -> None:
    bodies: list[dict] = []  # type: ignore[type-arg]

    def answer(route: Route, request: Request) -> None:
        bodies.append(json.loads(request.post_data or "{}"))
        route.fulfill(status=200, content_type="application/json",
                      body=json.dumps(EXPIRED_ANSWER, ensure_ascii=False))

    page.route("**/api/v1/ask", answer)
    ask(page, SEED_QUESTION)
    expect(last_answer(page).locator(".marker").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    assert "include_expired" not in bodies[-1]  # off by default: notices in force only

    page.get_by_label("包含已失效政策").check()
    ask(page, "共享用工补贴多少？")
    card = last_answer(page).locator(".source-card")
    expect(card.locator(".policy-status")).to_have_text("已失效", timeout=ANSWER_TIMEOUT_MS)
    assert bodies[-1]["include_expired"] is True
    expect(card.locator(".source-card__issuer")).to_contain_text("济高管发〔2020〕8号")
    expect(card.locator(".source-card__issuer")).to_contain_text("<img")  # shown as text
    assert page.locator(".source-card img").count() == 0
    assert page.evaluate("window.pwned") is None
    card.click()
    expect(page.locator("#passage-meta")).to_contain_text("有效期至")
    expect(page.locator("#passage-meta")).to_contain_text("已失效")
