"""The chat page with written answers: streamed sentence by sentence, labelled, follow-ups
sent with the tab's conversation. The server's LLM is the protocol test double."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_chat_page import ANSWER_TIMEOUT_MS, SEED_QUESTION, XSS_QUESTION, ask
from tests.llm_double import LLMDouble, Reply, grounded

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def slow_grounded(request: dict[str, Any]) -> Reply:
    reply = grounded(request)
    if "资料" not in request["body"]["messages"][-1]["content"]:  # the follow-up rewrite call
        return Reply(["涉外服务专区在哪里办理外籍员工工作居留？"])
    reply.token_delay_s = 0.03
    return reply


def test_a_written_answer_streams_in_and_is_labelled(llm_page: Page, llm_double: LLMDouble,
                                                     output_dir: Path) -> None:
    llm_double.reply = slow_grounded
    ask(llm_page, SEED_QUESTION)
    turn = llm_page.locator(".turn").last
    draft = turn.locator(".answer--streaming")
    expect(draft.locator(".marker[data-marker='1']")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(draft.locator(".marker[data-marker='2']")).to_have_count(0)  # one sentence so far
    final = turn.locator(".answer--generative")
    expect(final.locator(".answer__badge")).to_have_text("✓根据引用文本撰写",
                                                         timeout=ANSWER_TIMEOUT_MS)
    expect(final.locator(".answer__text .marker")).to_have_count(2)
    llm_page.screenshot(path=str(output_dir / "generative.png"))
    final.locator(".marker[data-marker='1']").click()
    expect(llm_page.locator("#passage-text mark")).to_have_count(1)
    llm_page.keyboard.press("Escape")


def test_follow_ups_send_the_conversation_which_survives_a_reload_until_new_chat(
        llm_page: Page, llm_double: LLMDouble) -> None:
    llm_double.reply = slow_grounded
    ask(llm_page, SEED_QUESTION)
    expect(llm_page.locator(".answer--generative")).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    ask(llm_page, "它在哪里办？")
    expect(llm_page.locator(".answer--generative")).to_have_count(2, timeout=ANSWER_TIMEOUT_MS)
    answer_call = llm_double.requests[-1]["body"]["messages"]
    assert any(m["role"] == "user" and m["content"] == SEED_QUESTION for m in answer_call)
    assert any(m["role"] == "assistant" for m in answer_call)

    llm_page.reload(wait_until="load")
    expect(llm_page.locator(".turn")).to_have_count(2)
    expect(llm_page.locator(".turn").first.locator(".bubble__text")).to_have_text(SEED_QUESTION)
    llm_page.get_by_role("button", name="新对话").click()
    expect(llm_page.locator(".turn")).to_have_count(0)
    assert llm_page.evaluate("sessionStorage.getItem('policybot.conversation')") is None
    llm_page.reload(wait_until="load")
    expect(llm_page.locator(".turn")).to_have_count(0)


def test_when_the_llm_fails_the_quoted_answer_is_labelled_as_quoted(
        llm_page: Page, llm_double: LLMDouble) -> None:
    llm_double.reply = Reply(status=500)
    ask(llm_page, SEED_QUESTION)
    badge = llm_page.locator(".turn").last.locator(".answer--extractive .answer__badge")
    expect(badge).to_have_text("✓摘自政策原文", timeout=ANSWER_TIMEOUT_MS)


def test_written_sentences_with_html_show_as_text(llm_page: Page, llm_double: LLMDouble) -> None:
    llm_double.reply = Reply(["测试补贴材料中不得包含<script>window.__xss=1</script>这样的脚本代码[1]。"])
    ask(llm_page, XSS_QUESTION)
    answer = llm_page.locator(".turn").last.locator(".answer--generative")
    expect(answer.locator(".answer__text")).to_contain_text("<script>", timeout=ANSWER_TIMEOUT_MS)
    assert llm_page.evaluate("typeof window.__xss") == "undefined"
    assert llm_page.locator("#conversation script, #conversation img").count() == 0
