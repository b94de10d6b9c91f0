"""/api/v1/match, /api/v1/taxonomy, profile questions in /api/v1/ask, and the CLI."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.answering.extractive import ExtractiveAnswerer
from service.cli.main import main
from service.core.settings import Settings
from tests.conftest import REPO

BIOMED = {"industries": ["生物医药"], "qualifications": ["专精特新"], "needs": ["金融", "人才"]}
BIOMED_QUESTION = "我们是一家生物医药领域的专精特新企业，需要融资和人才，能享受哪些政策？"
DONE_WHEN_PHRASES = ("生物医药企业", "科创金融类产品", "济高人才2.0", "泉惠企")


def post_match(client: TestClient, profile: dict[str, Any], **paging: int) -> dict[str, Any]:
    response = client.post("/api/v1/match", json={"profile": profile, **paging})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_match_returns_biomedical_finance_talent_and_service_with_reasons(
    seed_client: TestClient,
) -> None:
    body = post_match(seed_client, BIOMED, limit=100)

    assert body["total"] == len(body["matches"])
    assert body["profile"] == {"industries": ["生物医药与大健康"], "qualifications": ["专精特新"],
                               "needs": ["金融", "人才"]}
    passages = "\n".join(m["citations"][0]["text"] for m in body["matches"])
    for phrase in DONE_WHEN_PHRASES:
        assert phrase in passages
    talent = next(m for m in body["matches"] if "济高人才2.0" in m["citations"][0]["text"])
    assert talent["reasons"] == ["需求：金融", "需求：人才"]
    assert any("济高人才2.0" in c["quote"] for c in talent["citations"])
    assert "济高人才" in talent["triggers"]["需求：人才"]
    assert body["matches"][-1]["reasons"] == ["服务：政策咨询与办事渠道（所有企业适用）"]


def test_match_items_cite_verbatim_quotes_inside_their_passage(seed_client: TestClient) -> None:
    body = post_match(seed_client, BIOMED)

    for rank, item in enumerate(body["matches"], start=1):
        assert item["summary"] in item["citations"][0]["text"] and len(item["summary"]) <= 120
        for citation in item["citations"]:
            assert citation["marker"] == rank
            assert citation["quote"] in citation["text"]
            assert citation["start"] <= citation["quote_start"] < citation["quote_end"] \
                <= citation["end"]
            assert set(citation) >= {"passage_id", "document_id", "title", "heading", "score",
                                     "source", "date"}


def test_chat_profile_question_lists_the_same_matches_with_a_count(
    seed_client: TestClient,
) -> None:
    listed = post_match(seed_client, BIOMED, limit=100)

    body = seed_client.post("/api/v1/ask", json={"question": BIOMED_QUESTION}).json()

    answer = body["answer"]
    assert body["found"] is True
    assert answer.startswith(f"共 {listed['total']} 项")
    for phrase in ("科创金融类产品", "济高人才2.0", "泉惠企", "生物医药"):
        assert phrase in answer
    assert "【金融】" in answer and "【人才】" in answer
    assert f"另有 {listed['total'] - 8} 项未列出" in answer
    cited = list(dict.fromkeys(c["passage_id"] for c in body["citations"]))
    api_ids = [m["citations"][0]["passage_id"] for m in listed["matches"]]
    assert set(cited) == set(api_ids[:7]) | {api_ids[-1]}  # the best 7 and the help item
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
    assert markers == {c["marker"] for c in body["citations"]} == set(range(1, 9))
    for citation in body["citations"]:
        assert citation["quote"] in answer


def test_chat_question_about_a_laser_company_needing_finance_gets_a_list(
    seed_client: TestClient,
) -> None:
    body = seed_client.post("/api/v1/ask",
                            json={"question": "我公司做激光装备，需要融资，有什么政策"}).json()

    assert re.match(r"共 \d+ 项", body["answer"])
    assert "【金融】" in body["answer"] and "激光装备" in body["answer"]


def test_ordinary_question_still_gets_the_extractive_answer(seed_client: TestClient) -> None:
    question = "外籍员工的工作许可和居留能一起办吗？"
    answerer = seed_client.app.state.holder.snapshot().answerer  # type: ignore[attr-defined]
    assert isinstance(answerer.inner, ExtractiveAnswerer)

    body = seed_client.post("/api/v1/ask", json={"question": question}).json()

    assert body["answer"] == answerer.inner.answer(question).text
    assert not body["answer"].startswith("共")
    assert "工作居留一件事" in body["answer"]


def test_profile_question_about_another_city_is_still_refused(seed_client: TestClient) -> None:
    body = seed_client.post("/api/v1/ask",
                            json={"question": "我们是苏州的生物医药企业，能享受哪些政策？"}).json()

    assert body["found"] is False and body["citations"] == []


def test_unknown_value_is_422_listing_the_accepted_values(seed_client: TestClient) -> None:
    response = seed_client.post("/api/v1/match",
                                json={"profile": {"industries": ["房地产中介"]}})

    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422
    assert "'房地产中介'" in body["error"]
    assert "生物医药与大健康" in body["error"] and "taxonomy" in body["error"]


@pytest.mark.parametrize("payload", [
    {"profile": {"needs": ["金融"], "sector": "x"}},
    {"profile": {"needs": ["金融"]}, "limit": 0},
    {"profile": {"needs": ["金融"]}, "limit": 101},
    {"profile": {"needs": ["金融"]}, "offset": -1},
    {"profile": {"needs": [1]}},
    {"profile": {}},
])
def test_bad_match_requests_are_422(seed_client: TestClient, payload: dict[str, Any]) -> None:
    response = seed_client.post("/api/v1/match", json=payload)

    assert response.status_code == 422
    assert response.json()["status"] == 422


def test_paging_keeps_the_total_and_changes_the_items(seed_client: TestClient) -> None:
    first = post_match(seed_client, BIOMED, limit=5)
    second = post_match(seed_client, BIOMED, limit=5, offset=5)
    everything = post_match(seed_client, BIOMED, limit=100)

    assert first["total"] == second["total"] == everything["total"] > 10
    assert len(first["matches"]) == len(second["matches"]) == 5
    assert first["matches"] + second["matches"] == everything["matches"][:10]
    assert second["matches"][0]["citations"][0]["marker"] == 6


def test_synonyms_and_free_text_are_accepted(seed_client: TestClient) -> None:
    body = post_match(seed_client, {"qualifications": ["高企"], "foreign_staff": True,
                                    "text": "我们做软件，需要人才"})

    assert body["profile"] == {"industries": ["新一代信息技术"], "qualifications": ["高新技术企业"],
                               "needs": ["人才", "涉外服务"]}
    reasons = {r for m in body["matches"] for r in m["reasons"]}
    assert {"资质：高新技术企业", "需求：涉外服务", "行业：新一代信息技术"} <= reasons


def test_taxonomy_lists_each_facet_with_names_and_synonyms(seed_client: TestClient) -> None:
    response = seed_client.get("/api/v1/taxonomy")

    assert response.status_code == 200
    facets = {f["name"]: f for f in response.json()["facets"]}
    assert list(facets) == ["industries", "qualifications", "needs"]
    qualifications = {v["name"]: v["synonyms"] for v in facets["qualifications"]["values"]}
    assert "高企" in qualifications["高新技术企业"]
    assert facets["needs"]["label"] == "需求"


def use_index(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    for field in ("corpus_dir", "index_dir", "data_dir"):
        monkeypatch.setenv(f"POLICYBOT_{field.upper()}", str(getattr(settings, field)))


def test_cli_match_prints_the_count_and_the_grouped_list(
    seed_index: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    use_index(monkeypatch, seed_index)

    code = main(["match", "--industry", "生物医药", "--qualification", "专精特新",
                 "--need", "融资", "--need", "人才"])

    out = capsys.readouterr().out
    assert code == 0
    assert re.match(r"共 \d+ 项适用的政策和服务"
                    r"（行业：生物医药与大健康；资质：专精特新；需求：金融、人才）", out)
    assert out.index("【金融】") < out.index("【人才】") < out.index("【政策咨询与办事】")
    assert "理由：需求：金融；需求：人才" in out
    assert "来源：济南高新区2023年前三季度经济运行与高质量发展综述（2023-11）" \
        "jinan-hitech-2023-q3#5" in out
    assert "状态：未知" in out  # the seed reports carry no dates


def test_cli_match_json_has_the_api_shape(
    seed_index: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    use_index(monkeypatch, seed_index)

    assert main(["match", "--qualification", "高企", "--need", "人才", "--foreign-staff",
                 "--limit", "3", "--json"]) == 0

    body = json.loads(capsys.readouterr().out)
    assert body["total"] > 3 and len(body["matches"]) == 3
    assert body["profile"]["needs"] == ["人才", "涉外服务"]


def test_cli_match_rejects_an_unknown_value(
    seed_index: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    use_index(monkeypatch, seed_index)

    assert main(["match", "--need", "彩票"]) == 1
    assert "accepted values" in capsys.readouterr().err


def test_cli_eval_match_reports_recall_and_exclusion(
    seed_index: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    use_index(monkeypatch, seed_index)

    profiles = REPO / "tests" / "data" / "match_profiles.jsonl"
    assert main(["eval-match", str(profiles), "--json"]) == 0

    scores = json.loads(capsys.readouterr().out)
    assert scores["profiles"] == 24
    assert scores["recall"] == 1.0 and scores["exclusion"] == 1.0
