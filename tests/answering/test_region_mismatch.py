"""A notice of another region does not answer a question about this one (fast tier)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.answering.serving import IndexHolder
from service.core.settings import Settings
from service.index.build import reindex
from tests.conftest import make_settings
from tests.fakes import BigramEmbedder

HUBEI = ("---\ntitle: 湖北省关于支持中小企业渡过难关的若干措施\n---\n"
         "对受影响的中小企业新增贷款给予贷款贴息，贴息比例为贷款利息的百分之五十。"
         "中小企业可向所在地财政部门申请贷款贴息。\n")
BEIJING = ("---\ntitle: 北京市关于做好展会服务工作的通知\n---\n"
           "北京市对暂停举办的展会项目给予场租补贴，补贴金额不超过五十万元。\n")
NATIONAL = ("---\ntitle: 关于中小企业贷款贴息有关事项的通知\n---\n"
            "各地对中小企业新增贷款给予贷款贴息，贴息期限为一年，由财政部门统一办理。\n")
QUESTION = "北京市对中小企业贷款贴息有什么政策？"


def holder_over(root: Path, documents: dict[str, str]) -> IndexHolder:
    # A tiny corpus: coverage alone would refuse; the region rule is what is tested here.
    settings: Settings = make_settings(root, refusal_dense_weight=0.0, refusal_threshold=0.1)
    settings.corpus_dir.mkdir(parents=True)
    for name, text in documents.items():
        (settings.corpus_dir / name).write_text(text, "utf-8")
    embedder = BigramEmbedder()
    reindex(settings, embedder, progress=False)
    holder = IndexHolder(settings, embedder)
    holder.refresh()
    return holder


@pytest.fixture(scope="module")
def regional(tmp_path_factory: pytest.TempPathFactory) -> IndexHolder:
    return holder_over(tmp_path_factory.mktemp("regional"),
                       {"hubei.txt": HUBEI, "beijing.txt": BEIJING})


def test_another_regions_notice_is_not_quoted_for_this_region(regional: IndexHolder) -> None:
    answer = regional.snapshot().answerer.answer(QUESTION)
    assert not answer.found and answer.citations == ()
    assert "“北京市”" in answer.text and "其他地区" in answer.text
    assert "只涉及济南高新区" not in answer.text  # the texts do mention 北京市


def test_the_same_question_about_the_notices_own_region_is_answered(
    regional: IndexHolder,
) -> None:
    answer = regional.snapshot().answerer.answer("湖北省对中小企业贷款贴息有什么政策？")
    assert answer.found and "贷款贴息" in answer.text


def test_a_national_notice_answers_for_any_region(tmp_path: Path) -> None:
    holder = holder_over(tmp_path, {"national.txt": NATIONAL, "beijing.txt": BEIJING})
    answer = holder.snapshot().answerer.answer(QUESTION)
    assert answer.found and "贷款贴息" in answer.text


BEIJING_FAIR = ("---\ntitle: 北京市关于做好展会服务工作的通知\n---\n"
                "北京市对暂停举办的展会项目给予场租补贴。参展的中小企业可申请补贴。\n")


def test_a_later_sentence_from_the_regions_notice_does_not_carry_another_regions_answer(
        tmp_path: Path) -> None:
    """The answer would lead with 湖北省's loan subsidy and add a 北京市 line about fairs:
    the notice it leads with decides which region it is about."""
    holder = holder_over(tmp_path, {"hubei.txt": HUBEI, "beijing.txt": BEIJING_FAIR})
    answer = holder.snapshot().answerer.answer(QUESTION)
    assert not answer.found and "北京市" in answer.text
    assert answer.hits[0].passage.document_id == "hubei"


SHANDONG = ("---\ntitle: 山东省关于支持中小企业渡过难关的若干措施\n---\n"
            "对受影响的中小企业新增贷款给予贷款贴息，贴息期限为一年。\n")
HOME_QUESTION = "济南高新区对中小企业贷款贴息有什么政策？"


def test_another_regions_notice_does_not_answer_for_the_home_zone(regional: IndexHolder) -> None:
    """The zone's own name is no foreign place, but 湖北省's subsidy is still not the zone's."""
    answer = regional.snapshot().answerer.answer(HOME_QUESTION)
    assert not answer.found and answer.citations == ()
    assert "“济南高新区”" in answer.text and "其他地区" in answer.text


@pytest.mark.parametrize("documents", [{"national.txt": NATIONAL, "beijing.txt": BEIJING},
                                       {"shandong.txt": SHANDONG, "beijing.txt": BEIJING}])
def test_a_national_or_provincial_notice_answers_for_the_home_zone(
        tmp_path: Path, documents: dict[str, str]) -> None:
    holder = holder_over(tmp_path, documents)
    answer = holder.snapshot().answerer.answer(HOME_QUESTION)
    assert answer.found and "贷款贴息" in answer.text


def test_a_question_naming_no_place_answered_from_a_regions_notice_says_whose_it_is(
        regional: IndexHolder) -> None:
    answer = regional.snapshot().answerer.answer("中小企业贷款贴息有什么政策？")
    assert answer.found and "贷款贴息" in answer.text
    assert answer.text.startswith("以下摘自“湖北省”的政策，不一定适用于济南高新区：")
    assert answer.citations[0].quote in answer.text


@pytest.mark.parametrize("question", ["湖北省对中小企业贷款贴息有什么政策？", "中小企业贷款贴息有什么政策？"])
def test_no_caveat_when_the_region_was_asked_for_or_the_notice_is_national(
        regional: IndexHolder, tmp_path: Path, question: str) -> None:
    holder = regional if question.startswith("湖北省") else holder_over(
        tmp_path, {"national.txt": NATIONAL, "beijing.txt": BEIJING})
    answer = holder.snapshot().answerer.answer(question)
    assert answer.found and not answer.text.startswith("以下摘自")


CBRC = ("---\ntitle: 中国银监会关于中小企业贷款贴息有关事项的通知\n---\n"
        "各地对中小企业新增贷款给予贷款贴息，贴息期限为一年。\n")


def test_a_notice_of_a_national_body_named_after_china_answers_for_the_home_zone(
        tmp_path: Path) -> None:
    holder = holder_over(tmp_path, {"cbrc.txt": CBRC, "beijing.txt": BEIJING})
    answer = holder.snapshot().answerer.answer(HOME_QUESTION)
    assert answer.found and not answer.text.startswith("以下摘自")
