"""Policy status over a real small index (test embedder): expired and replaced notices are
left out of answers and searches by default, brought back and marked with include_expired."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.core.settings import Settings
from service.evaluation.retrieval_eval import eval_retriever
from service.index.build import reindex
from service.index.policy_status import document_statuses
from tests.conftest import SEED_CORPUS, make_settings
from tests.fakes import BigramEmbedder
from tests.llm_double import grounded, running_double

NOTICES = Path(__file__).resolve().parent.parent / "data" / "policy_notices"
TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STATUS_DATE = "2024-06-01"  # share-staff-2020 expired, rent-relief-2021 replaced by -2023
SHARED_STAFF = "共享用工补贴每人每月多少钱？"
RENT = "租用园区标准厂房的小微企业可以减免几个月房租？"


@pytest.fixture(scope="module")
def notices_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("notices")
    shutil.copytree(SEED_CORPUS, root / "corpus")
    shutil.copytree(NOTICES, root / "corpus" / "notices")
    settings = make_settings(root, refusal_dense_weight=0.0, admin_token=TOKEN,
                             status_date=dt.date.fromisoformat(STATUS_DATE))
    reindex(settings, BigramEmbedder(), progress=False)
    return settings


@pytest.fixture(scope="module")
def client(notices_index: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(notices_index, embedder=BigramEmbedder())) as test_client:
        yield test_client


def ask(client: TestClient, question: str, **fields: object) -> dict:  # type: ignore[type-arg]
    response = client.post("/api/v1/ask", json={"question": question, **fields})
    assert response.status_code == 200, response.text
    return response.json()


def search_documents(client: TestClient, query: str, **fields: object) -> dict[str, dict]:  # type: ignore[type-arg]
    response = client.post("/api/v1/search", json={"query": query, "top_k": 10, **fields})
    assert response.status_code == 200, response.text
    return {r["document_id"]: r["policy"] for r in response.json()["results"]}


def test_statuses_on_a_given_day(notices_index: Settings) -> None:
    documents = _manifest_documents(notices_index)
    on = {day: {d: s.status for d, s in document_statuses(documents, dt.date.fromisoformat(day))
                .items()} for day in ("2020-06-01", "2021-06-01", STATUS_DATE, "2030-06-01")}
    assert on["2020-06-01"]["notices/share-staff-2020"] == "current"
    assert on["2021-06-01"]["notices/share-staff-2020"] == "expired"  # 有效期至2020年12月31日
    assert on["2021-06-01"]["notices/rent-relief-2021"] == "current"
    assert on[STATUS_DATE]["notices/rent-relief-2021"] == "replaced"
    assert on[STATUS_DATE]["notices/rent-relief-2023"] == "current"
    assert on[STATUS_DATE]["notices/data-vouchers-2030"] == "pending"
    assert on["2030-06-01"]["notices/data-vouchers-2030"] == "current"
    assert on[STATUS_DATE]["jinan-hitech-2023-q3"] == "unknown"  # no dates: kept in answers


def test_an_expired_notice_does_not_answer_by_default(client: TestClient) -> None:
    answer = ask(client, SHARED_STAFF)
    cited = {c["document_id"] for c in answer["citations"]}
    assert "notices/share-staff-2020" not in cited
    assert "notices/share-staff-2020" not in search_documents(client, "共享用工补贴")


def test_include_expired_brings_it_back_marked_expired(client: TestClient) -> None:
    answer = ask(client, SHARED_STAFF, include_expired=True)
    assert answer["found"], answer
    citation = next(c for c in answer["citations"]
                    if c["document_id"] == "notices/share-staff-2020")
    assert "500元" in answer["answer"]
    assert citation["policy"]["status"] == "expired"
    assert citation["policy"]["status_label"] == "已失效"
    assert citation["policy"]["agency"] == "济南高新区管委会"
    assert citation["policy"]["doc_number"] == "济高管发〔2020〕8号"
    assert citation["policy"]["issued"] == "2020-03-02"


def test_a_replaced_notice_gives_way_to_the_one_replacing_it(client: TestClient) -> None:
    default = search_documents(client, RENT)
    assert "notices/rent-relief-2023" in default
    assert "notices/rent-relief-2021" not in default
    everything = search_documents(client, RENT, include_expired=True)
    replaced = everything["notices/rent-relief-2021"]
    assert (replaced["status"], replaced["status_label"]) == ("replaced", "已被替代")
    assert replaced["replaced_by"] == "notices/rent-relief-2023"
    answer = ask(client, RENT)
    assert answer["found"] and "六个月" in answer["answer"]


def test_a_streamed_answer_carries_the_status_too(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": SHARED_STAFF, "stream": True,
                                                "include_expired": True})
    assert response.status_code == 200
    assert '"status_label": "已失效"' in response.text


def test_documents_lists_each_notices_facts_and_status(client: TestClient) -> None:
    body = client.get("/api/v1/documents").json()
    assert body["status_date"] == STATUS_DATE
    policies = {d["document_id"]: d["policy"] for d in body["documents"]}
    assert policies["notices/rent-relief-2023"]["replaces"] == ["济高管发〔2021〕3号"]
    assert policies["notices/rent-relief-2023"]["expires"] == "2026-06-30"  # 有效期三年
    assert policies["notices/data-vouchers-2030"]["status_label"] == "尚未生效"
    assert policies["jinan-hitech-2024-annual"]["status_label"] == "未知"


def test_include_expired_must_be_a_boolean(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": RENT, "include_expired": "yes"})
    assert response.status_code == 422


def test_evaluation_uses_every_notice(notices_index: Settings) -> None:
    retriever = eval_retriever(notices_index, BigramEmbedder(), None)
    hits = retriever.search("共享用工补贴", top_k=5)
    assert any(h.passage.document_id == "notices/share-staff-2020" for h in hits)


@pytest.mark.parametrize(("field", "value"), [("expires", "2020/12/31"),
                                              ("issued", "2020-02-30"), ("effective", "明年")])
def test_an_upload_with_a_bad_date_is_refused_naming_field_and_format(
        client: TestClient, field: str, value: str) -> None:
    response = client.post("/api/v1/documents", headers=AUTH,
                           files={"file": ("notice.txt", "对企业给予补贴。".encode())},
                           data={field: value})
    assert 400 <= response.status_code < 500
    message = response.json()["error"]
    assert field in message and value in message and "YYYY-MM-DD" in message


def test_a_bad_date_in_front_matter_skips_the_file_with_the_reason(
        notices_index: Settings, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(notices_index.corpus_dir, corpus)
    (corpus / "bad.txt").write_text("---\nexpires: 2020年底\n---\n对企业给予补贴。", "utf-8")
    settings = make_settings(tmp_path)
    result = reindex(settings, BigramEmbedder(), progress=False)
    assert any("bad.txt" in reason and "expires" in reason and "YYYY-MM-DD" in reason
               for reason in result.skipped)


def test_declared_expiry_is_uploaded_and_shown(client: TestClient) -> None:
    response = client.post("/api/v1/documents", headers=AUTH, json={
        "title": "关于发放首台套装备奖励的通知", "text": "对首台套装备给予一次性奖励。",
        "agency": "济南高新区管委会", "doc_number": "济高管发〔2019〕1号",
        "issued": "2019-05-01", "expires": "2020-05-01", "id": "uploads/first-set"})
    assert response.status_code == 201, response.text
    policies = {d["document_id"]: d["policy"] for d in client.get("/api/v1/documents").json()
                ["documents"]}
    assert policies["uploads/first-set"]["status"] == "expired"
    assert policies["uploads/first-set"]["doc_number"] == "济高管发〔2019〕1号"


def _manifest_documents(settings: Settings) -> dict[str, dict]:  # type: ignore[type-arg]
    from service.index.library import indexed_documents

    return indexed_documents(settings)


def test_matching_leaves_out_lapsed_notices(client: TestClient) -> None:
    response = client.post("/api/v1/match", json={"profile": {"needs": ["用地", "资金"]},
                                                  "limit": 100})
    assert response.status_code == 200, response.text
    matched = {c["document_id"] for m in response.json()["matches"] for c in m["citations"]}
    assert "notices/rent-relief-2023" in matched
    assert not matched & {"notices/rent-relief-2021", "notices/share-staff-2020"}


def test_matching_with_include_expired_shows_lapsed_notices_marked(client: TestClient) -> None:
    response = client.post("/api/v1/match", json={"profile": {"needs": ["用地", "资金"]},
                                                  "limit": 100, "include_expired": True})
    assert response.status_code == 200, response.text
    policies = {c["document_id"]: c["policy"] for m in response.json()["matches"]
                for c in m["citations"]}
    assert policies["notices/rent-relief-2021"]["status_label"] == "已被替代"
    assert policies["notices/rent-relief-2023"]["status_label"] == "有效"


def test_the_llm_is_told_each_notices_issuer_number_and_status(notices_index: Settings) -> None:
    """Over the protocol double (no LLM weights here): each passage block sent carries its
    notice's source line, so the model can tell an expired notice or another issuer's."""
    with running_double() as double:
        double.reply = grounded
        settings = notices_index.model_copy(update={"llm_base_url": double.url})
        with TestClient(create_app(settings, embedder=BigramEmbedder())) as llm_client:
            ask(llm_client, SHARED_STAFF, include_expired=True)
        sent = double.requests[-1]["body"]["messages"][-1]["content"]
    blocks = {b.split("》", 1)[0]: b for b in sent.split("\n\n[")}
    staff = next(b for title, b in blocks.items() if "共享用工" in title)
    assert "来源：济南高新区管委会　济高管发〔2020〕8号　2020-03-02 发布" in staff
    assert "状态：已失效" in staff
    report = next(b for title, b in blocks.items() if "前三季度" in title)
    assert "来源：" not in report  # nothing is known of the seed report: no line
