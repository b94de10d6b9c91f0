"""Questions whether a named notice is still in force, over the policy-notice fixtures on
2024-06-01 (test embedder): answered from the notice's facts, with the sentence that states
its term quoted verbatim, whether the notice is in force, expired, replaced or pending."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.test_policy_status import ask, client, notices_index  # noqa: F401 (fixtures)


def the_quote_is_the_passage_at_its_offsets(citation: dict) -> bool:  # type: ignore[type-arg]
    start = citation["quote_start"] - citation["start"]
    return citation["text"][start : start + len(citation["quote"])] == citation["quote"]


def test_an_expired_notice_named_by_its_number_is_said_to_have_expired(
        client: TestClient) -> None:  # noqa: F811
    answer = ask(client, "济高管发〔2020〕8号还有效吗？")
    assert answer["found"] is True
    assert answer["answer"].startswith("《济南高新区管委会关于支持企业共享用工的通知》（济高管发〔2020〕8号")
    assert "已失效：有效期至 2020-12-31" in answer["answer"]
    [citation] = answer["citations"]
    assert citation["quote"] == "本通知自印发之日起施行，有效期至2020年12月31日。"
    assert citation["quote"] + "[1]" in answer["answer"]
    assert citation["policy"]["status_label"] == "已失效"
    assert the_quote_is_the_passage_at_its_offsets(citation)


def test_a_replaced_notice_named_by_its_title_points_to_the_one_in_force(
        client: TestClient) -> None:  # noqa: F811
    answer = ask(client, "《济南高新区管委会关于减免小微企业园区房租的通知》现在还适用吗？")
    assert "已被替代，现行的是《济南高新区管委会关于进一步减免小微企业园区房租的通知》" in answer["answer"]
    assert answer["citations"][0]["document_id"] == "notices/rent-relief-2021"


@pytest.mark.parametrize("question", ["济高管发（2029）第15号什么时候生效？",
                                      "济南高新区管委会关于发放数据要素创新券的通知何时施行"])
def test_a_notice_not_yet_in_force_says_from_when(client: TestClient, question: str) -> None:  # noqa: F811
    answer = ask(client, question)
    assert "尚未生效，自 2030-01-01 起施行" in answer["answer"]
    assert answer["citations"][0]["quote"] == "本通知自2030年1月1日起施行，有效期两年。"


def test_a_notice_in_force_gives_its_term(client: TestClient) -> None:  # noqa: F811
    answer = ask(client, "济高管发〔2023〕11号的有效期到哪天？")
    assert "现行有效（有效期至 2026-06-30）" in answer["answer"]


@pytest.mark.parametrize("question", ["共享用工补贴还有效吗？", "济高管发〔2020〕8号规定的补贴每人每月多少钱？"])
def test_a_question_that_names_no_notice_or_asks_no_status_is_answered_as_usual(
        client: TestClient, question: str) -> None:  # noqa: F811
    answer = ask(client, question)
    assert not answer["answer"].startswith("《")
    assert "已失效：" not in answer["answer"]


def test_of_titles_sharing_the_named_stretch_the_one_naming_the_asked_place_is_chosen() -> None:
    from service.answering.status_answer import _longest_title_overlap

    titles = {"hubei": "湖北省关于促进中小微企业持续健康发展的若干措施",
              "beijing": "北京市关于促进中小微企业持续健康发展的若干措施"}
    question = "北京市促进中小微企业持续健康发展的若干措施还有效吗？"
    assert _longest_title_overlap(question, titles) == "beijing"
    assert _longest_title_overlap("湖北省" + question[3:], dict(reversed(titles.items()))) == "hubei"
    assert _longest_title_overlap("中小微企业的若干措施还有效吗？", titles) is None


def test_a_follow_up_asking_whether_it_is_still_in_force_means_the_notice_just_discussed(
        client: TestClient) -> None:  # noqa: F811
    history = [{"question": "共享用工补贴每人每月多少钱？",
                "answer": "对组织员工到其他企业共享用工的派出企业，按每人每月500元给予共享用工补贴。"}]
    answer = ask(client, "这个政策还有效吗？", history=history)
    assert answer["answer"].startswith("《济南高新区管委会关于支持企业共享用工的通知》")
    assert "已失效" in answer["answer"]
    assert answer["standalone_question"]
    alone = ask(client, "这个政策还有效吗？")  # no conversation: nothing to refer back to
    assert not alone["answer"].startswith("《")


def test_a_quoted_name_that_several_titles_share_names_no_notice(client: TestClient) -> None:  # noqa: F811
    answer = ask(client, "《减免小微企业园区房租》还有效吗？")  # in the 2021 and the 2023 titles
    assert not answer["answer"].startswith("《")


def test_a_report_that_states_no_term_is_not_judged_and_points_to_staff(client: TestClient) -> None:  # noqa: F811
    answer = ask(client, "济南高新区2023年前三季度经济运行与高质量发展综述还有效吗？")
    assert answer["found"] is False and answer["citations"] == []
    assert "无法判断是否仍然有效" in answer["answer"] and "首席政策官" in answer["answer"]
