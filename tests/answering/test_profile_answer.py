"""/api/v1/ask with the web page's profile: a "what applies" question gets the counted list."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.answering.profile_answer import ProfileAwareAnswerer
from service.matching.matcher import Profile

PANEL = {"industries": ["生物医药与大健康"], "qualifications": ["专精特新"],
         "needs": ["金融", "人才"]}
WHAT_APPLIES = "有哪些政策适合我们？"
SPECIFIC = "济高人才2.0是什么"


def ask(client: TestClient, question: str,
        profile: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"question": question}
    if profile is not None:
        body["profile"] = profile
    response = client.post("/api/v1/ask", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def answerer(client: TestClient) -> ProfileAwareAnswerer:
    served = client.app.state.holder.snapshot().answerer  # type: ignore[attr-defined]
    assert isinstance(served, ProfileAwareAnswerer)
    return served


def test_ask_accepts_a_profile_with_synonyms_and_foreign_staff(seed_client: TestClient) -> None:
    body = ask(seed_client, "外籍员工的工作许可和居留能一起办吗？",
               {"industries": ["生物医药"], "qualifications": ["高企"], "needs": ["融资"],
                "foreign_staff": True})

    assert body["found"] is True and "工作居留一件事" in body["answer"]


def test_ask_profile_with_unknown_value_is_422_listing_the_accepted_values(
    seed_client: TestClient,
) -> None:
    response = seed_client.post("/api/v1/ask", json={
        "question": WHAT_APPLIES, "profile": {"qualifications": ["五百强"]}})

    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422
    assert "profile.qualifications" in body["error"] and "'五百强'" in body["error"]
    assert "专精特新" in body["error"] and "taxonomy" in body["error"]


@pytest.mark.parametrize("profile", [
    {"needs": ["金融"], "sector": "医药"},
    {"needs": "金融"},
    {"needs": [1]},
    {"foreign_staff": "yes"},
])
def test_ask_malformed_profile_is_422(seed_client: TestClient, profile: dict[str, Any]) -> None:
    response = seed_client.post("/api/v1/ask", json={"question": WHAT_APPLIES, "profile": profile})

    assert response.status_code == 422
    assert response.json()["status"] == 422


def test_profile_and_what_applies_question_get_the_counted_list_with_citations(
    seed_client: TestClient,
) -> None:
    listed = seed_client.post("/api/v1/match", json={"profile": PANEL, "limit": 100}).json()

    body = ask(seed_client, WHAT_APPLIES, PANEL)

    answer = body["answer"]
    assert body["found"] is True
    assert answer.startswith(f"共 {listed['total']} 项")
    assert "（行业：生物医药与大健康；资质：专精特新；需求：金融、人才）" in answer
    assert "【金融】" in answer and "【人才】" in answer
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
    assert markers and markers == {c["marker"] for c in body["citations"]}
    for citation in body["citations"]:
        assert citation["quote"] in answer and citation["quote"] in citation["text"]


def test_panel_profile_is_merged_with_what_the_question_says(seed_client: TestClient) -> None:
    body = ask(seed_client, "我们还有外籍员工，能享受哪些政策？", {"needs": ["人才"]})

    assert body["answer"].startswith("共 ")
    assert "（需求：人才、涉外服务）" in body["answer"]


def test_profile_and_specific_question_get_the_extractive_answer(
    seed_client: TestClient,
) -> None:
    with_profile = ask(seed_client, SPECIFIC, PANEL)

    assert with_profile["found"] is True
    assert not with_profile["answer"].startswith("共")
    assert "济高人才2.0" in with_profile["answer"] and "[1]" in with_profile["answer"]
    assert with_profile["answer"] == ask(seed_client, SPECIFIC)["answer"]


@pytest.mark.parametrize("profile", [None, {}, {"industries": [], "needs": []}])
def test_what_applies_question_without_a_profile_stays_extractive(
    seed_client: TestClient, profile: dict[str, Any] | None,
) -> None:
    body = ask(seed_client, WHAT_APPLIES, profile)

    assert not body["answer"].startswith("共")
    assert body["answer"] == answerer(seed_client).inner.answer(WHAT_APPLIES).text


def test_profile_of_needs_a_what_applies_question_but_no_self_reference_with_a_panel(
    seed_client: TestClient,
) -> None:
    served = answerer(seed_client)
    panel = Profile(industries=("生物医药与大健康",))

    assert served.profile_of("有哪些政策适合？", panel) == panel
    assert served.profile_of("有哪些政策适合？") is None
    assert served.profile_of(SPECIFIC, panel) is None
    assert served.profile_of("苏州有哪些政策适合我们？", panel) is None


def test_list_quotes_each_sentence_once_though_passages_overlap(seed_client: TestClient) -> None:
    body = ask(seed_client, WHAT_APPLIES, PANEL)

    items = [line for line in body["answer"].splitlines() if line.startswith("· ")]
    sentences = [(c["document_id"], c["quote_start"]) for c in body["citations"]]
    assert len(items) == len(sentences) == len(set(sentences))
