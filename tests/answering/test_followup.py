"""Follow-ups made standalone: by rules on jieba terms, or by one cached LLM call."""

from __future__ import annotations

from pydantic import SecretStr

from service.answering.followup import FollowupRewriter, leans_on_history, rewrite_by_rules
from service.answering.llm_client import ChatClient, CircuitBreaker, LLMConfig
from service.core.models import Turn
from tests.llm_double import Reply, free_port, running_double

ZONE_SERVICE = Turn("“泉惠企”平台是做什么的？", "济南高新区还将惠企政策全部纳入线上“泉惠企”平台。[1]")


def test_a_question_with_its_own_topic_and_no_pronoun_is_left_alone() -> None:
    rewriter = FollowupRewriter()
    question = "外籍员工的工作许可和居留能一起办吗？"
    assert rewriter.rewrite(question, [ZONE_SERVICE]) == question
    assert rewriter.rewrite("它怎么申请？", []) == "它怎么申请？"


def test_a_pronoun_or_a_missing_topic_carries_the_previous_topic() -> None:
    assert leans_on_history("它怎么申请？") and leans_on_history("需要什么条件？")
    assert "泉惠企" in rewrite_by_rules("它怎么用？", [ZONE_SERVICE])
    assert "泉惠企" in rewrite_by_rules("需要什么条件？", [ZONE_SERVICE])


def test_that_x_instead_replaces_the_term_of_the_same_kind() -> None:
    turn = Turn("民营企业在高新区能获得哪些金融支持？")
    rewritten = rewrite_by_rules("那外资企业呢？", [turn])
    assert "外资企业" in rewritten and "金融" in rewritten and "民营企业" not in rewritten


def test_an_ordinal_takes_the_topic_of_that_item_of_the_previous_answer() -> None:
    turn = Turn("高新区有哪些服务渠道？",
                "惠企政策全部纳入线上“泉惠企”平台。[1]组织39人的“首席政策官”团队。[2]")
    assert "首席政策官" in rewrite_by_rules("第二个怎么联系？", [turn])


def test_the_llm_rewrites_once_and_the_answer_is_cached() -> None:
    with running_double() as double:
        double.reply = Reply(["“泉惠企”平台怎么申请使用？"])
        config = LLMConfig(double.url, "m", SecretStr(""), 2.0, 64)
        with ChatClient(config, CircuitBreaker(100)) as client:
            rewriter = FollowupRewriter(client)
            for _ in range(2):
                assert rewriter.rewrite("它怎么申请？", [ZONE_SERVICE]) == "“泉惠企”平台怎么申请使用？"
            assert len(double.requests) == 1
            prompt = double.requests[0]["body"]["messages"][-1]["content"]
            assert "泉惠企" in prompt and "它怎么申请？" in prompt


def test_rules_take_over_when_the_llm_fails() -> None:
    config = LLMConfig(f"http://127.0.0.1:{free_port()}/v1", "m", SecretStr(""), 1.0, 64)
    with ChatClient(config, CircuitBreaker(100)) as client:
        assert "泉惠企" in FollowupRewriter(client).rewrite("它怎么申请？", [ZONE_SERVICE])


def test_a_short_question_without_a_subject_leans_but_a_new_full_question_does_not() -> None:
    assert leans_on_history("销售收入有多少？")
    assert not leans_on_history("高新区有没有独角兽企业？")
    assert not leans_on_history("做中药材生意，有没有线上的采购交易平台？")
