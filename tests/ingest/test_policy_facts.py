"""Policy facts read from invented notices: what a notice states plainly, nothing more."""

from __future__ import annotations

import pytest

from service.ingest.policy_facts import add_period, iso_date, policy_facts, read_facts

NOTICE = """济南高新区管委会关于支持企业共享用工的通知

济高管发〔2020〕8号

各街道办事处，区直各部门：

根据《山东省人民政府办公厅关于应对疫情稳就业的通知》（鲁政办发〔2020〕5号）要求，现通知如下。

一、对共享用工的派出企业给予补贴。

本通知自印发之日起施行，有效期一年。《关于支持企业用工的通知》（济高管发〔2019〕2号）同时废止。

济南高新区管委会

二〇二〇年二月十日

（此件公开发布）"""


def test_a_notice_gives_its_agency_number_dates_and_the_notice_it_replaces() -> None:
    facts = read_facts("济南高新区管委会关于支持企业共享用工的通知", NOTICE)
    assert facts.agency == "济南高新区管委会"
    assert facts.doc_number == "济高管发〔2020〕8号"  # not the cited 鲁政办发〔2020〕5号
    assert facts.issued == "2020-02-10"  # Chinese numerals of the signature date
    assert facts.effective == "2020-02-10"  # 自印发之日起施行
    assert facts.expires == "2021-02-09"  # 有效期一年, inclusive
    assert facts.replaces == ("济高管发〔2019〕2号",)


@pytest.mark.parametrize(("written", "iso"), [
    ("2020年3月1日", "2020-03-01"), ("二〇二〇年十二月三十一日", "2020-12-31"),
    ("二○二一年二月二十八日", "2021-02-28"), ("2021年2月30日", ""),
])
def test_dates_in_digits_or_chinese_numerals(written: str, iso: str) -> None:
    assert iso_date(written) == iso


def test_relative_expiry_counts_from_the_effective_date() -> None:
    text = "本办法自2021年3月1日起施行，有效期3年。\n\n某市财政局\n\n2021年2月1日"
    facts = read_facts("某市财政局关于印发资金管理办法的通知", text)
    assert (facts.issued, facts.effective, facts.expires) == ("2021-02-01", "2021-03-01",
                                                              "2024-02-29")
    assert add_period("2020-01-31", 1, "个月") == "2020-02-28"


def test_an_addressee_line_is_not_taken_for_the_agency() -> None:
    text = ("各区县人民政府，市政府各部门：\n\n现将有关事项通知如下。对企业给予补贴。\n\n"
            "2020年2月4日")
    facts = read_facts("关于支持企业复工的通知", text)
    assert facts.agency == ""  # no signature, no issuer in the title
    assert facts.issued == "2020-02-04"


def test_a_number_only_cited_in_a_sentence_is_not_the_notices_own() -> None:
    text = ("各有关单位：按照《关于做好复工复产的通知》（国办发〔2020〕6号）要求，"
            "结合财税〔2020〕8号文件精神，现通知如下。")
    assert read_facts("关于复工复产的通知", text).doc_number == ""


def test_an_expiry_tied_to_an_event_or_to_one_measure_is_left_empty() -> None:
    text = ("一、房租减免执行期限至2020年6月30日。\n\n本通知自印发之日起施行，有效期至疫情解除。"
            "\n\n某区商务局\n\n2020年2月6日")
    facts = read_facts("某区商务局关于支持商贸企业的通知", text)
    assert facts.expires == ""  # the 6月30日 belongs to one measure, 疫情解除 is no date
    assert facts.agency == "某区商务局"


def test_a_news_article_yields_nothing() -> None:
    text = ("新华社北京2月15日电 记者从国家发展改革委获悉，各地积极推动企业复工复产，"
            "截至目前复工率超过六成。（记者 张三）")
    facts = read_facts("各地推动企业复工复产", text)
    assert facts.as_dict() == read_facts("", "").as_dict()


def test_signers_written_together_are_split_into_agencies() -> None:
    text = "……特此通知。\n\n北京市财政局北京市发展和改革委员会中国人民银行营业管理部2020年2月14日"
    assert read_facts("紧急通知", text).agency == ("北京市财政局、北京市发展和改革委员会、"
                                                 "中国人民银行营业管理部")


def test_declared_metadata_wins_over_the_text() -> None:
    facts = policy_facts("济南高新区管委会关于支持企业共享用工的通知", NOTICE,
                         {"expires": "2020-06-30", "agency": "济南高新区管理委员会",
                          "replaces": "old-id", "tags": ["x"]})
    assert (facts.agency, facts.expires, facts.replaces) == ("济南高新区管理委员会",
                                                             "2020-06-30", ("old-id",))
    assert facts.doc_number == "济高管发〔2020〕8号"  # not declared: read from the text
    assert set(facts.declared) == {"agency", "expires", "replaces"}
