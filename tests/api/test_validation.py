"""Untrusted strings and numbers are checked at the edge: unencodable text, control
characters and huge integers are a 4xx naming the field, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.api.validation import (
    check_name,
    check_strings,
    check_unicode,
    clean_long_text,
    clean_user_text,
)
from tests.api.test_errors import assert_error

SURROGATE = "\\ud800"  # as it appears inside a JSON document


def post_raw(client: TestClient, path: str, body: str):  # type: ignore[no-untyped-def]
    return client.post(path, content=body.encode(), headers={"content-type": "application/json"})


# --- the rules, on plain values (fast tier) ---

def test_check_unicode_refuses_a_lone_surrogate_and_says_where() -> None:
    with pytest.raises(ValueError, match=r"unpaired surrogate \(U\+D800\) at character 2"):
        check_unicode("泉惠\ud800企")
    assert check_unicode("泉惠企😀") == "泉惠企😀"


def test_user_text_is_cleaned_and_bounded() -> None:
    assert clean_user_text("  泉惠\x07企\u200b  ") == "泉惠企"
    with pytest.raises(ValueError, match="empty"):
        clean_user_text("\x00\u2028 ")
    with pytest.raises(ValueError, match="unpaired surrogate"):
        clean_user_text("\udfff")


def test_long_text_keeps_line_breaks_and_drops_other_controls() -> None:
    assert clean_long_text("第一行\n第二行\t\x00\x1b") == "第一行\n第二行\t"


def test_names_refuse_control_characters_instead_of_removing_them() -> None:
    with pytest.raises(ValueError, match="U\\+0000 at character 2"):
        check_name("ab\x00c")
    with pytest.raises(ValueError, match="U\\+200B"):
        check_name("a\u200bb")
    assert check_name("uploads/政策") == "uploads/政策"


def test_check_strings_checks_a_string_or_each_string_of_a_list() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        check_strings(["ok", 3, "\ud800"])
    assert check_strings({"nested": "models check themselves"}) == {
        "nested": "models check themselves"}


# --- every endpoint, over the real app ---

@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/ask", '{"question": "泉惠企%s"}', "question"),
    ("/api/v1/search", '{"query": "%s泉惠企"}', "query"),
    ("/api/v1/ask", '{"question": "泉惠企", "profile": {"text": "生物医药%s"}}', "profile.text"),
    ("/api/v1/match", '{"profile": {"industries": ["生物%s"]}}', "profile.industries"),
    ("/api/v1/match", '{"profile": {"needs": ["融资", "%s"]}}', "profile.needs"),
])
def test_a_lone_surrogate_in_any_question_field_is_422_naming_it(
        seed_client: TestClient, path: str, body: str, field: str) -> None:
    response = post_raw(seed_client, path, body % SURROGATE)
    assert_error(response, 422, field, "unpaired surrogate", "valid Unicode")


def test_a_lone_surrogate_as_an_unknown_field_name_is_a_422_not_a_500(
        seed_client: TestClient) -> None:
    response = post_raw(seed_client, "/api/v1/ask", '{"question": "泉惠企", "' + SURROGATE + '": 1}')
    assert response.status_code == 422, response.text


def test_the_connection_survives_a_rejected_surrogate(seed_client: TestClient) -> None:
    assert post_raw(seed_client, "/api/v1/ask", '{"question": "' + SURROGATE + '"}'
                    ).status_code == 422
    assert seed_client.post("/api/v1/search", json={"query": "泉惠企"}).status_code == 200


@pytest.mark.parametrize("field", ["question", "answer", "comment", "passage_ids"])
def test_feedback_with_a_lone_surrogate_is_422_and_stores_nothing(client: TestClient,
                                                                  field: str) -> None:
    values = {"question": '"泉惠企"', "answer": '"答"', "comment": '"评"',
              "passage_ids": '["a#1"]'}
    values[field] = f'["{SURROGATE}"]' if field == "passage_ids" else f'"x{SURROGATE}"'
    body = "{" + ", ".join(f'"{k}": {v}' for k, v in values.items()) + ', "helpful": true}'
    store = client.app.state.feedback  # type: ignore[attr-defined]
    before = store.count()
    assert_error(post_raw(client, "/api/v1/feedback", body), 422, field, "unpaired surrogate")
    assert store.count() == before


def test_feedback_control_characters_are_removed_from_free_text(client: TestClient) -> None:
    response = client.post("/api/v1/feedback", json={
        "question": "泉惠企", "answer": "第一行\n第二行\x1b[31m", "helpful": True,
        "comment": "好\x00"})
    assert response.status_code == 201
    item = client.app.state.feedback.recent(1, 0)[0]  # type: ignore[attr-defined]
    assert (item.answer, item.comment) == ("第一行\n第二行[31m", "好")


@pytest.mark.parametrize("offset", [2**63, 2**64, 2**31])
def test_feedback_offset_beyond_the_bound_is_422(admin_client: TestClient, offset: int) -> None:
    response = admin_client.get("/api/v1/feedback", params={"offset": offset}, headers=ADMIN)
    assert_error(response, 422, "offset")


def test_match_offset_beyond_the_bound_is_422(seed_client: TestClient) -> None:
    response = seed_client.post("/api/v1/match", json={"profile": {"needs": ["融资"]},
                                                       "offset": 2**63})
    assert_error(response, 422, "offset")


@pytest.mark.parametrize("value", ["生物\x00医药", "生物\u202e医药"])
def test_profile_values_with_control_characters_are_422(seed_client: TestClient,
                                                        value: str) -> None:
    response = seed_client.post("/api/v1/match", json={"profile": {"industries": [value]}})
    assert_error(response, 422, "profile.industries", "control character")


def test_openapi_says_question_and_query_need_one_character(seed_client: TestClient) -> None:
    schemas = seed_client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["AskRequest"]["properties"]["question"]["minLength"] == 1
    assert schemas["SearchRequest"]["properties"]["query"]["minLength"] == 1


ADMIN = {"authorization": "Bearer s3cret"}


@pytest.fixture()
def admin_client(settings, embedder):  # type: ignore[no-untyped-def]
    from service.api.app import create_app

    with TestClient(create_app(settings.model_copy(update={"admin_token": "s3cret"}),
                               embedder=embedder)) as client:
        yield client


@pytest.mark.parametrize("field", ["title", "source", "date", "id", "text"])
def test_admin_json_document_with_a_lone_surrogate_is_422(admin_client: TestClient,
                                                          field: str) -> None:
    values = {"title": "政策", "text": "第一条 补贴。"}
    values[field] = "x" + SURROGATE
    body = "{" + ", ".join(f'"{k}": "{v}"' for k, v in values.items()) + "}"
    response = admin_client.post("/api/v1/documents", content=body.encode(),
                                 headers={**ADMIN, "content-type": "application/json"})
    assert_error(response, 422, field, "unpaired surrogate")


def test_admin_form_fields_with_control_characters_are_refused(admin_client: TestClient) -> None:
    response = admin_client.post("/api/v1/documents", headers=ADMIN,
                                 files={"file": ("a.txt", "第一条 补贴。".encode())},
                                 data={"title": "政策\x00标题"})
    assert response.status_code in (400, 422), response.text
    assert "title" in response.json()["error"]


@pytest.mark.parametrize("path", ["/api/v1/documents/a%00b", "/api/v1/documents/a%E2%80%AEb"])
def test_delete_with_a_control_character_in_the_id_is_422(admin_client: TestClient,
                                                          path: str) -> None:
    assert_error(admin_client.delete(path, headers=ADMIN), 422, "document_id", "control")


def test_reindex_status_with_a_control_character_in_the_job_id_is_422(
        admin_client: TestClient) -> None:
    assert_error(admin_client.get("/api/v1/reindex/a%01", headers=ADMIN), 422, "job_id")
