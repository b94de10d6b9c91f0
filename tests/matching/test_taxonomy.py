from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.matching.taxonomy import DEFAULT_TAXONOMY, Taxonomy, canonical, load_taxonomy, tag_text

CORPUS = Path(__file__).parents[2] / "corpus"


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


def write_taxonomy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_biomedical_sentence_gets_industry_tag_with_trigger(taxonomy: Taxonomy) -> None:
    tags = tag_text("济南高新区聚集了济南市85%以上的生物医药企业，企业总数突破4000家。", taxonomy)

    assert tags["industries"] == {"生物医药与大健康": ["生物医药"]}


def test_synonym_maps_to_canonical_name(taxonomy: Taxonomy) -> None:
    assert canonical("qualifications", "高企", taxonomy) == "高新技术企业"
    assert canonical("industries", "生物医药", taxonomy) == "生物医药与大健康"
    assert canonical("needs", "科创金融", taxonomy) == "金融"


def test_canonical_name_maps_to_itself(taxonomy: Taxonomy) -> None:
    for facet in ("qualifications", "industries", "needs"):
        for name in taxonomy.values(facet):
            assert canonical(facet, name, taxonomy) == name


def test_canonical_ignores_whitespace_and_latin_case(taxonomy: Taxonomy) -> None:
    assert canonical("needs", " reits ", taxonomy) == "金融"


def test_unknown_value_is_none(taxonomy: Taxonomy) -> None:
    assert canonical("industries", "房地产中介", taxonomy) is None


def test_unknown_facet_names_it(taxonomy: Taxonomy) -> None:
    with pytest.raises(ValueError, match="'sectors'"):
        canonical("sectors", "软件", taxonomy)


def test_longest_synonym_wins_over_the_shorter_one_inside_it(tmp_path: Path) -> None:
    path = write_taxonomy(
        tmp_path,
        "industries:\n"
        "  - {name: 生物医药与大健康, synonyms: [生物医药]}\n"
        "  - {name: 医药流通, synonyms: [医药]}\n",
    )

    tags = tag_text("生物医药企业", load_taxonomy(path))

    assert tags == {"industries": {"生物医药与大健康": ["生物医药"]}}


def test_shorter_synonym_still_fires_outside_the_longer_match(tmp_path: Path) -> None:
    path = write_taxonomy(
        tmp_path,
        "industries:\n"
        "  - {name: 生物医药与大健康, synonyms: [生物医药]}\n"
        "  - {name: 医药流通, synonyms: [医药]}\n",
    )

    tags = tag_text("生物医药企业和医药批发企业", load_taxonomy(path))

    assert tags == {"industries": {"生物医药与大健康": ["生物医药"], "医药流通": ["医药"]}}


def test_triggers_are_listed_once_in_order_of_appearance(taxonomy: Taxonomy) -> None:
    text = "成功落地山东首单Pre-REITs基金，协调金融机构推出科创金融类产品，再设母基金和基金。"

    triggers = tag_text(text, taxonomy)["needs"]["金融"]

    assert triggers == ["REITs", "基金", "金融", "科创金融", "母基金"]


def test_text_with_pdf_line_breaks_still_matches(taxonomy: Taxonomy) -> None:
    tags = tag_text("线下挂牌成立8家“泉惠\n企”企业服务站", taxonomy)

    assert tags["needs"]["政策咨询"] == ["泉惠企", "服务站"]


def test_packaged_taxonomy_has_no_term_shared_by_two_tags_of_a_facet() -> None:
    # load_taxonomy refuses duplicates, so this fails as soon as someone adds one.
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY)

    assert [facet.name for facet in taxonomy.facets] == [
        "qualifications",
        "industries",
        "needs",
        "bodies",
    ]


def test_duplicate_term_across_tags_is_rejected_with_the_term(tmp_path: Path) -> None:
    path = write_taxonomy(
        tmp_path,
        "needs:\n  - {name: 资金, synonyms: [基金]}\n  - {name: 金融, synonyms: [基金]}\n",
    )

    with pytest.raises(ValueError, match="'基金' belongs to both '资金' and '金融'"):
        load_taxonomy(path)


def test_tag_without_name_is_rejected(tmp_path: Path) -> None:
    path = write_taxonomy(tmp_path, "needs:\n  - {synonyms: [基金]}\n")

    with pytest.raises(ValueError, match="needs a non-empty name"):
        load_taxonomy(path)


def test_corpus_passage_about_quanhuiqi_is_tagged_policy_consulting(taxonomy: Taxonomy) -> None:
    text = re.sub(r"\s+", "", (CORPUS / "jinan-hitech-2023-q3.txt").read_text(encoding="utf-8"))
    start = text.index("为了更好地服务企业发展")
    passage = text[start : text.index("。", text.index("解决企业诉求", start)) + 1]

    tags = tag_text(passage, taxonomy)

    assert tags["needs"]["政策咨询"] == [
        "惠企政策",
        "泉惠企",
        "服务站",
        "首席政策官",
        "服务专员",
        "服务小分队",
    ]


def test_a_not_term_takes_its_span_and_tags_nothing(taxonomy: Taxonomy) -> None:
    assert "金融" not in tag_text("强化金融风险防控，抓紧抓牢安全生产", taxonomy).get("needs", {})
    assert "金融" in tag_text("支持科创金融，强化金融风险防控", taxonomy)["needs"]
    assert canonical("needs", "金融风险防控", taxonomy) is None


def test_a_not_term_that_is_also_a_synonym_is_rejected(tmp_path: Path) -> None:
    path = write_taxonomy(
        tmp_path, "needs:\n  - {name: 金融, synonyms: [基金], not: [基金]}\n")
    with pytest.raises(ValueError, match="'基金' belongs to both '金融' and the 'not' list"):
        load_taxonomy(path)


def test_the_error_names_the_tag_whose_not_list_holds_the_term(tmp_path: Path) -> None:
    path = write_taxonomy(
        tmp_path, "needs:\n  - {name: 资金, not: [基金]}\n  - {name: 金融, synonyms: [基金]}\n")
    with pytest.raises(ValueError, match="the 'not' list of '资金' and '金融'"):
        load_taxonomy(path)
