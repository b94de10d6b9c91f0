"""Policy cards and matching over a real index of the seed corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.core.errors import Unprocessable
from service.core.models import Passage
from service.core.settings import Settings
from service.evaluation.match_eval import score_matching
from service.evaluation.retrieval_eval import read_jsonl
from service.index.store import load_current
from service.matching.matcher import (
    SERVICE_REASON,
    Match,
    PolicyCard,
    PolicyMatcher,
    Profile,
    build_profile,
    default_taxonomy,
    grouped,
    match_score,
    ranked,
    stated_dates,
)

PROFILES = Path(__file__).parents[1] / "data" / "match_profiles.jsonl"


@pytest.fixture(scope="module")
def matcher(seed_index: Settings) -> PolicyMatcher:
    return PolicyMatcher(load_current(seed_index.index_dir, seed_index.embedder))


@pytest.fixture(scope="module")
def biomed_profile() -> Profile:
    return build_profile(default_taxonomy(), ["生物医药"], ["专精特新"], ["融资", "人才"])


def case_profile(case: dict[str, Any]) -> Profile:
    values = case["profile"]
    return build_profile(default_taxonomy(), values.get("industries", ()),
                         values.get("qualifications", ()), values.get("needs", ()),
                         values.get("foreign_staff", False))


def facts(matches: list[Match]) -> list[tuple[object, ...]]:
    """What a match says, ``shared`` included (Match equality leaves it out)."""
    return [(m.card.order, m.score, m.date, m.shared) for m in matches]


def card_with(matcher: PolicyMatcher, phrase: str) -> PolicyCard:
    return next(c for c in matcher.cards.passages if phrase in c.passage.text)


def texts(matches: list[Match]) -> str:
    return "\n".join(m.card.passage.text for m in matches)


# ---- cards ----------------------------------------------------------------------------------


def test_card_records_tags_with_the_words_that_triggered_them(matcher: PolicyMatcher) -> None:
    card = card_with(matcher, "济高人才2.0")

    assert "济高人才" in card.tags["needs"]["人才"]
    assert {"科创金融", "REITs"} <= set(card.tags["needs"]["金融"])
    assert "济南高新区" in card.tags["bodies"]


def test_card_of_the_quanhuiqi_passage_is_the_service_item(matcher: PolicyMatcher) -> None:
    card = card_with(matcher, "首席政策官")

    assert card.is_service
    assert {"泉惠企", "首席政策官", "服务站"} <= set(card.tags["needs"]["政策咨询"])
    assert not card_with(matcher, "济高人才2.0").is_service


def test_card_keeps_the_dates_its_text_states(matcher: PolicyMatcher) -> None:
    assert "2021" in card_with(matcher, "2021年底").dates


def test_stated_dates_are_normalized_and_invalid_months_dropped() -> None:
    text = "2021年底启动，2024年12月完成，2023年8月1日开工，2023-11 发布，2024年13月无效。"

    assert stated_dates(text) == ("2021", "2023-08-01", "2023-11", "2024", "2024-12")


def test_document_card_rolls_up_its_passages(matcher: PolicyMatcher) -> None:
    document = matcher.cards.documents["jinan-hitech-2023-q3"]
    own = [c for c in matcher.cards.passages if c.passage.document_id == document.document_id]

    assert document.passage_ids == tuple(c.passage.id for c in own)
    assert document.date == "2023-11"
    assert set(document.tags["needs"]) == {t for c in own for t in c.tags.get("needs", {})}
    assert "2021" in document.dates


def test_cards_are_built_once_per_matcher(matcher: PolicyMatcher) -> None:
    assert matcher.cards is matcher.cards
    assert len(matcher.cards.passages) == len(matcher.index.passages)


# ---- profiles -------------------------------------------------------------------------------


def test_profile_maps_synonyms_merges_text_and_adds_foreign_staff() -> None:
    profile = build_profile(default_taxonomy(), ["生物医药"], ["高企"], ["融资"],
                            foreign_staff=True, text="我们做激光装备，也需要人才")

    assert profile.industries == ("生物医药与大健康", "智能制造与高端装备")
    assert profile.qualifications == ("高新技术企业",)
    assert profile.needs == ("金融", "人才", "涉外服务")


def test_unknown_profile_value_names_the_accepted_values() -> None:
    with pytest.raises(Unprocessable) as caught:
        build_profile(default_taxonomy(), industries=["房地产中介"])

    assert "'房地产中介'" in caught.value.message
    assert "生物医药与大健康" in caught.value.message and "量子科技" in caught.value.message


def test_empty_profile_is_refused(matcher: PolicyMatcher) -> None:
    with pytest.raises(Unprocessable, match="at least one industry"):
        matcher.match(Profile())


# ---- matching -------------------------------------------------------------------------------


def test_biomedical_profile_gets_industry_finance_talent_and_service(
    matcher: PolicyMatcher, biomed_profile: Profile,
) -> None:
    matches = matcher.match(biomed_profile)

    found = texts(matches)
    for phrase in ("生物医药企业", "科创金融类产品", "济高人才2.0", "泉惠企"):
        assert phrase in found
    assert "无人驾驶挖掘机" not in found
    talent = next(m for m in matches if "济高人才2.0" in m.card.passage.text)
    assert talent.reasons == ("需求：金融", "需求：人才")


def test_service_item_is_included_for_any_profile_and_ranks_last(matcher: PolicyMatcher) -> None:
    profile = build_profile(default_taxonomy(), industries=["量子"])

    matches = matcher.match(profile)

    assert matches[-1].card.is_service
    assert matches[-1].reasons == (SERVICE_REASON,)
    assert all(m.score > matches[-1].score for m in matches[:-1])


def test_service_item_is_ranked_normally_when_consulting_is_asked(matcher: PolicyMatcher) -> None:
    profile = build_profile(default_taxonomy(), needs=["政策咨询"])

    [first, *_] = matcher.match(profile)

    assert first.card.is_service and first.reasons == ("需求：政策咨询",)


def test_passage_about_another_industry_needs_more_than_a_passing_need_word(
    matcher: PolicyMatcher,
) -> None:
    software = build_profile(default_taxonomy(), ["软件"], ["高企"], ["人才"])
    cosmetics = build_profile(default_taxonomy(), ["化妆品"], [], ["人才"])

    assert "化妆品产业带" not in texts(matcher.match(software))
    assert "化妆品产业带" in texts(matcher.match(cosmetics))


def test_score_rewards_an_industry_and_a_need_over_either_alone() -> None:
    passage = Passage("d#0", "d", "t", "", 0, 0, 10, "生物医药企业融资")
    card = PolicyCard(passage, 0, {"industries": {"生物医药与大健康": ["生物医药"]},
                                   "needs": {"金融": ["融资"]}}, ())

    both = match_score(card, {"industries": ("生物医药与大健康",), "needs": ("金融",)})
    industry = match_score(card, {"industries": ("生物医药与大健康",)})
    need = match_score(card, {"needs": ("金融",)})

    assert both > industry and both > need


def test_matches_are_sorted_by_score_then_newest_document(
    matcher: PolicyMatcher, biomed_profile: Profile,
) -> None:
    matches = matcher.match(biomed_profile)

    for higher, lower in zip(matches, matches[1:], strict=False):
        assert higher.score > lower.score or (
            higher.score == lower.score and higher.date >= lower.date)


def test_summary_and_quotes_are_short_verbatim_and_hold_the_trigger_words(
    matcher: PolicyMatcher, biomed_profile: Profile,
) -> None:
    for match in matcher.match(biomed_profile):
        passage = match.card.passage
        evidence = matcher.explain(match, biomed_profile)
        assert evidence.summary.text == passage.text[evidence.summary.start:evidence.summary.end]
        assert 0 < len(evidence.summary.text) <= 120
        pairs = zip(evidence.quotes, match.reason_tags(), strict=True)
        for (reason, quote), (_, facet, tag) in pairs:
            assert quote.text == passage.text[quote.start:quote.end]
            assert len(quote.text) <= 120
            assert any(word in quote.text for word in match.triggers(facet, tag)), reason


def test_talent_reason_quotes_the_talent_policy_sentence(
    matcher: PolicyMatcher, biomed_profile: Profile,
) -> None:
    match = next(m for m in matcher.match(biomed_profile) if "济高人才2.0" in m.card.passage.text)

    quotes = dict(matcher.explain(match, biomed_profile).quotes)

    assert "济高人才2.0" in quotes["需求：人才"].text
    assert "科创金融类产品" in quotes["需求：金融"].text


def test_grouped_puts_needs_first_in_profile_order_and_help_last(
    matcher: PolicyMatcher, biomed_profile: Profile,
) -> None:
    groups = [name for name, _ in grouped(matcher.match(biomed_profile), biomed_profile)]

    assert groups[:2] == ["金融", "人才"]
    assert groups[-1] == "政策咨询与办事"


def test_seed_profiles_recall_and_exclusion(matcher: PolicyMatcher) -> None:
    scores = score_matching(matcher, read_jsonl(PROFILES))

    assert scores.profiles == 24
    assert scores.recall == 1.0, scores.misses
    assert scores.exclusion == 1.0, scores.leaks


def test_indexed_match_equals_a_scan_of_every_card(matcher: PolicyMatcher) -> None:
    cards = matcher.cards

    for number, case in enumerate(read_jsonl(PROFILES), 1):
        profile = case_profile(case)
        scan = ranked(m for card in cards.passages if (m := matcher._match(card, profile)))

        matches = matcher.match(profile)

        assert facts(matches) == facts(scan), f"profile {number}"
        assert len(cards.candidates(profile)) < len(cards.passages), f"profile {number}"
