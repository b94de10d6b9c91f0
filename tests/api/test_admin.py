"""The admin API over a real index: uploads in every format, refusals, deletes, reindex jobs."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.auth import DISABLED
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.index.build_lock import build_lock
from service.index.store import current_version
from tests.filemakers import (
    POLICY_PARAGRAPHS,
    POLICY_TITLE,
    make_corrupt_pdf,
    make_docx,
    make_encrypted_pdf,
    make_html,
    make_image_only_pdf,
    make_pdf,
)

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DOCUMENTS = "/api/v1/documents"
SEED_FILES = ["corpus/jinan-hitech-2023-q3.txt", "corpus/jinan-hitech-2024-annual.txt"]
NEW_QUESTION = "首次认定的国家高新技术企业奖励多少钱？"  # only the uploaded policy answers it
POLICY_TEXT = "\n\n".join(POLICY_PARAGRAPHS)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """conftest's private copy of the seed index, with the admin API turned on."""
    return settings.model_copy(update={"admin_token": TOKEN})


def upload(client: TestClient, name: str, data: bytes, **fields: str) -> Any:
    """The response of a multipart upload (TestClient's own httpx flavour)."""
    return client.post(DOCUMENTS, files={"file": (name, data)}, data=fields, headers=AUTH)


def ask(client: TestClient, question: str = NEW_QUESTION) -> dict:  # type: ignore[type-arg]
    response = client.post("/api/v1/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


def state(settings: Settings, but: str = "//") -> tuple[list[str], str | None]:
    """Every file below the test folder (corpus, index, anything else, except those under
    ``but``) and CURRENT."""
    root = settings.corpus_dir.parent
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    files = [f for f in files if not f.startswith(but)]
    return files, current_version(settings.index_dir)


def total_passages(client: TestClient) -> int:
    return sum(d["passages"] for d in client.get(DOCUMENTS).json()["documents"])


def wait_for_job(client: TestClient, job: str) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/reindex/{job}", headers=AUTH).json()
        if status["status"] != "running":
            return status
        time.sleep(0.05)
    raise AssertionError(f"reindex job {job} still running after 60 s")


# ---- authorisation ------------------------------------------------------------------------

ADMIN_ROUTES = [("POST", DOCUMENTS), ("DELETE", f"{DOCUMENTS}/jinan-hitech-2023-q3"),
                ("POST", "/api/v1/reindex"), ("GET", "/api/v1/reindex/abc"),
                ("GET", "/api/v1/reindex"), ("GET", "/api/v1/feedback"),
                ("GET", "/api/v1/unanswered"), ("GET", "/api/v1/unanswered?format=csv")]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
@pytest.mark.parametrize("header", [{}, {"Authorization": "Bearer wrong"},
                                    {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}])
def test_admin_routes_without_the_token_return_401(
    client: TestClient, settings: Settings, method: str, path: str, header: dict[str, str]
) -> None:
    before = state(settings)

    response = client.request(method, path, headers=header)

    assert response.status_code == 401
    assert response.json() == {
        "error": "send the admin token as 'Authorization: Bearer <token>'", "status": 401}
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert state(settings) == before


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_api_is_off_without_a_configured_token(
    settings: Settings, embedder: Embedder, method: str, path: str
) -> None:
    app = create_app(settings.model_copy(update={"admin_token": ""}), embedder)
    with TestClient(app) as client:
        response = client.request(method, path, headers=AUTH)

    assert response.json() == {"error": DISABLED, "status": 403}


def test_token_is_checked_before_the_body_is_read(client: TestClient, settings: Settings) -> None:
    before = state(settings)

    form = client.post(DOCUMENTS, files={"file": ("p.pdf", make_pdf(POLICY_PARAGRAPHS))})
    other = client.post(DOCUMENTS, content=b"x", headers={"content-type": "text/plain"})

    assert (form.status_code, other.status_code) == (401, 401)  # not 201 / 415
    assert state(settings) == before


# ---- uploads in every format --------------------------------------------------------------

FORMATS = {
    "pdf": ("科技政策.pdf", lambda: make_pdf(POLICY_PARAGRAPHS, title=POLICY_TITLE)),
    "docx": ("科技政策.docx", lambda: make_docx([f"# {POLICY_TITLE}", *POLICY_PARAGRAPHS])),
    "html": ("科技政策.html", lambda: make_html([f"# {POLICY_TITLE}", *POLICY_PARAGRAPHS],
                                              title=POLICY_TITLE, charset="gb2312")),
    "gbk-text": ("科技政策.txt", lambda: f"{POLICY_TITLE}\n\n{POLICY_TEXT}".encode("gbk")),
}


@pytest.mark.parametrize("kind", FORMATS)
def test_uploaded_document_answers_at_once(client: TestClient, kind: str) -> None:
    name, make = FORMATS[kind]
    assert ask(client)["found"] is False

    response = upload(client, name, make())

    assert response.status_code == 201, response.text
    added = response.json()
    assert added == {"document_id": "uploads/科技政策", "title": POLICY_TITLE,
                     "passages": added["passages"], "document_ids": ["uploads/科技政策"]}
    answer = ask(client)
    assert answer["found"] is True
    assert "30万元" in answer["answer"]
    assert {c["document_id"] for c in answer["citations"]} == {"uploads/科技政策"}


def test_gbk_text_answers_exactly_like_its_utf8_twin(client: TestClient) -> None:
    text = f"{POLICY_TITLE}\n\n{POLICY_TEXT}"
    answers = []
    for encoding in ("utf-8", "gbk"):
        assert upload(client, "twin.txt", text.encode(encoding)).status_code == 201
        answers.append(ask(client))

    assert answers[0]["found"] is True
    assert answers[1]["answer"] == answers[0]["answer"]
    assert answers[1]["citations"][0]["quote"] == answers[0]["citations"][0]["quote"]


def test_deleted_document_no_longer_answers(client: TestClient, settings: Settings) -> None:
    before = state(settings)[0]
    document_id = upload(client, "p.pdf", make_pdf(POLICY_PARAGRAPHS)).json()["document_id"]
    assert ask(client)["found"] is True

    response = client.delete(f"{DOCUMENTS}/{document_id}", headers=AUTH)

    assert response.status_code == 204
    assert ask(client)["found"] is False
    assert document_id not in {d["document_id"] for d in client.get(DOCUMENTS).json()["documents"]}
    corpus_files = [f for f in state(settings)[0] if f.startswith("corpus/")]
    assert corpus_files == [f for f in before if f.startswith("corpus/")]


def test_delete_unknown_document_returns_404(client: TestClient) -> None:
    response = client.delete(f"{DOCUMENTS}/uploads/nothing", headers=AUTH)

    assert response.status_code == 404
    assert "no document with id 'uploads/nothing'" in response.json()["error"]


def test_json_document_is_added(client: TestClient, settings: Settings) -> None:
    body = {"id": "policies/科技创新", "title": POLICY_TITLE, "text": POLICY_TEXT,
            "date": "2024-03"}

    response = client.post(DOCUMENTS, json=body, headers=AUTH)

    assert response.status_code == 201
    assert response.json()["document_id"] == "policies/科技创新"
    assert (settings.corpus_dir / "uploads/policies-科技创新.txt").exists()
    assert ask(client)["citations"][0]["date"] == "2024-03"


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"title": "t", "text": "x", "author": "me"}, 422, "author: unknown field"),
    ({"title": "t"}, 422, "text: is required"),
    ({"title": "t", "text": 5}, 422, "text: Input should be a valid string"),
    ({"title": "t", "text": "x", "id": "../x"}, 400, "id '../x' is not allowed"),
    ({"title": "t", "text": "   "}, 422, "text: is empty"),
])
def test_bad_json_document_is_refused(
    client: TestClient, settings: Settings, body: dict, status: int, message: str  # type: ignore[type-arg]
) -> None:
    before = state(settings)

    response = client.post(DOCUMENTS, json=body, headers=AUTH)

    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert state(settings) == before


def test_invalid_json_and_other_content_types_are_refused(client: TestClient) -> None:
    def post(body: bytes, content_type: str) -> Any:
        return client.post(DOCUMENTS, content=body, headers={**AUTH, "content-type": content_type})

    broken, plain = post(b"{", "application/json"), post(b"text", "text/plain")

    assert (broken.status_code, plain.status_code) == (400, 415)
    assert "not valid JSON" in broken.json()["error"]
    assert "multipart/form-data" in plain.json()["error"]


# ---- duplicates and new versions ----------------------------------------------------------


def test_same_upload_twice_returns_200_and_changes_nothing(
    client: TestClient, settings: Settings
) -> None:
    pdf = make_pdf(POLICY_PARAGRAPHS)
    first = upload(client, "p.pdf", pdf)
    before, passages = state(settings), total_passages(client)

    again = upload(client, "p.pdf", pdf)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (state(settings), total_passages(client)) == (before, passages)


def test_new_version_under_the_same_id_replaces_the_old_text(client: TestClient) -> None:
    old = {"id": "policy-x", "title": "旧版",
           "text": "旧版政策：首次认定的国家高新技术企业奖励88万元。"}
    assert client.post(DOCUMENTS, json=old, headers=AUTH).status_code == 201
    assert "88万元" in ask(client)["answer"]

    response = upload(client, "新版.pdf", make_pdf(POLICY_PARAGRAPHS), id="policy-x")

    assert response.status_code == 201
    answer = ask(client)
    assert "30万元" in answer["answer"] and "88万元" not in answer["answer"]
    hits = client.post("/api/v1/search", json={"query": "88万元", "top_k": 20}).json()["results"]
    assert not any("88万元" in hit["text"] for hit in hits)
    ids = [d["document_id"] for d in client.get(DOCUMENTS).json()["documents"]]
    assert ids.count("policy-x") == 1


def test_another_worker_serves_the_upload_within_half_a_second(
    client: TestClient, settings: Settings, embedder: Embedder
) -> None:
    with TestClient(create_app(settings, embedder)) as other:
        assert ask(other)["found"] is False
        upload(client, "p.pdf", make_pdf(POLICY_PARAGRAPHS))
        uploaded = time.monotonic()
        while not ask(other)["found"]:
            assert time.monotonic() - uploaded < 1.5, "the other worker never reloaded"
            time.sleep(0.05)


# ---- refusals change nothing --------------------------------------------------------------

BAD_FILES = [
    ("corrupt.pdf", make_corrupt_pdf(), 422, "the PDF is damaged"),
    ("noise.pdf", make_corrupt_pdf("header"), 422, "the PDF is damaged"),
    ("locked.pdf", make_encrypted_pdf(POLICY_PARAGRAPHS), 422, "the PDF is encrypted"),
    ("scan.pdf", make_image_only_pdf(), 422, "no text layer"),
    ("empty.txt", b"", 422, "the file is empty"),
    ("blank.docx", b"   \n", 422, "the file is empty"),
    ("only-front-matter.txt", b"---\ntitle: x\n---\n", 422, "no text was found"),
    ("tool.exe", b"MZ\x90\x00binary", 415, "'.exe' files are not supported"),
    ("noext", POLICY_TEXT.encode(), 415, "files without a suffix are not supported"),
    ("fake.docx", b"PK\x03\x04 not a zip", 422, "the DOCX file is damaged"),
    ("bad.jsonl", b'{"id": "a"}\n', 422, 'each line needs {"id", "title", "text"}'),
    ("gbk.jsonl", '{"id": "a", "title": "政策", "text": "补贴"}'.encode("gbk"), 422,
     "a .jsonl file must be UTF-8"),
]


@pytest.mark.parametrize(("name", "data", "status", "message"), BAD_FILES,
                         ids=[bad[0] for bad in BAD_FILES])
def test_bad_file_is_refused_with_the_reason_and_nothing_changes(
    client: TestClient, settings: Settings, name: str, data: bytes, status: int, message: str
) -> None:
    before = state(settings)

    response = upload(client, name, data)

    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert state(settings) == before


def test_oversize_upload_returns_413_and_nothing_changes(
    settings: Settings, embedder: Embedder
) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 2000})
    before = state(settings)
    with TestClient(create_app(small, embedder)) as client:
        too_big = upload(client, "big.txt", ("政策" * 400).encode())
        far_too_big = upload(client, "huge.txt", b"x" * (2000 + 1024 * 1024 + 1))
        json_too_big = client.post(DOCUMENTS, json={"title": "t", "text": "政策" * 400},
                                   headers=AUTH)

    assert [r.status_code for r in (too_big, far_too_big, json_too_big)] == [413, 413, 413]
    assert "the upload limit is 2000 bytes" in json_too_big.json()["error"]
    assert state(settings) == before


@pytest.mark.parametrize("name", ["../../evil.txt", "..\\..\\evil.txt", "/tmp/evil.txt",
                                  "uploads/../../evil.txt", ".evil.txt"])
def test_path_traversal_names_stay_inside_the_corpus(
    client: TestClient, settings: Settings, name: str
) -> None:
    response = upload(client, name, POLICY_TEXT.encode())

    assert response.status_code == 201, response.text
    assert response.json()["document_id"] == "uploads/evil"
    new_files = set(state(settings)[0]) - set(SEED_FILES)
    assert {f for f in new_files if not f.startswith(("index/", "data/"))} == {
        "corpus/uploads/evil.txt"}


@pytest.mark.parametrize("bad_id", ["../x", "/x", "a/../../x", "x/..", ".."])
def test_unsafe_ids_are_refused(client: TestClient, settings: Settings, bad_id: str) -> None:
    before = state(settings)

    response = upload(client, "p.txt", POLICY_TEXT.encode(), id=bad_id)

    assert response.status_code == 400
    assert "is not allowed" in response.json()["error"]
    assert state(settings) == before


def test_delete_with_a_traversal_id_touches_nothing(client: TestClient, settings: Settings) -> None:
    before = state(settings)

    response = client.delete(f"{DOCUMENTS}/..%2F..%2Fcorpus%2Fjinan-hitech-2023-q3", headers=AUTH)

    assert response.status_code == 404
    assert state(settings) == before


@pytest.mark.parametrize(("files", "message"), [
    ({"file": ("p.txt", POLICY_TEXT.encode()), "author": (None, "me")},
     "unknown form fields ['author']"),
    ({"file": (None, "text, not a file")}, 'the form needs a "file" field'),
])
def test_malformed_form_is_refused(
    client: TestClient, files: dict, message: str  # type: ignore[type-arg]
) -> None:
    response = client.post(DOCUMENTS, files=files, headers=AUTH)

    assert response.status_code == 400
    assert message in response.json()["error"]


# ---- reindex jobs -------------------------------------------------------------------------


def test_reindex_job_runs_in_the_background_and_reports_its_result(
    client: TestClient, settings: Settings
) -> None:
    response = client.post("/api/v1/reindex", headers=AUTH)

    assert response.status_code == 202
    assert response.json()["status"] == "running"
    status = wait_for_job(client, response.json()["job"])
    assert (status["status"], status["stage"], status["error"]) == ("done", "published", None)
    assert status["result"]["version"] == current_version(settings.index_dir)
    assert (status["result"]["documents"], status["result"]["embedded"]) == (2, 0)
    assert status["done"] == status["total"] == status["result"]["passages"]


def test_reindex_job_skips_an_unreadable_file_and_names_it(client: TestClient,
                                                           settings: Settings) -> None:
    (settings.corpus_dir / "broken.txt").write_text("---\ntitle: x\n", "utf-8")

    status = wait_for_job(client, client.post("/api/v1/reindex", headers=AUTH).json()["job"])

    assert status["status"] == "done"
    assert status["result"]["documents"] == 2
    [skipped] = status["result"]["skipped"]
    assert skipped.startswith("broken.txt: front matter starts with '---' but never ends")


def test_failed_reindex_job_reports_why(client: TestClient, settings: Settings) -> None:
    for path in settings.corpus_dir.glob("*.txt"):
        path.write_text("---\ntitle: x\n", "utf-8")
    version = current_version(settings.index_dir)

    status = wait_for_job(client, client.post("/api/v1/reindex", headers=AUTH).json()["job"])

    assert status["status"] == "failed"
    assert "has no text to index" in status["error"]
    assert current_version(settings.index_dir) == version


def test_changes_while_a_build_runs_return_409(client: TestClient, settings: Settings) -> None:
    """Nothing in the corpus or the index changes; the PDF's parse may stay in the extraction
    cache (data/extracted), so that the retry after the build does not parse it again."""
    before = state(settings, but="data/extracted/")
    with build_lock(settings):
        responses = [
            client.post("/api/v1/reindex", headers=AUTH),
            upload(client, "p.pdf", make_pdf(POLICY_PARAGRAPHS)),
            client.delete(f"{DOCUMENTS}/jinan-hitech-2023-q3", headers=AUTH),
        ]

    assert [r.status_code for r in responses] == [409, 409, 409]
    assert "a reindex is already running" in responses[0].json()["error"]
    assert state(settings, but="data/extracted/") == before


def test_unknown_job_returns_404(client: TestClient) -> None:
    response = client.get("/api/v1/reindex/nope", headers=AUTH)

    assert response.status_code == 404
    assert "no reindex job 'nope'" in response.json()["error"]


def test_another_worker_reports_a_reindex_job(client: TestClient, settings: Settings) -> None:
    """Jobs are written under data_dir, so another process (worker) can answer for them."""
    from service.index.jobs import ReindexJobs

    job = client.post("/api/v1/reindex", headers=AUTH).json()["job"]
    wait_for_job(client, job)
    seen = ReindexJobs(settings).get(job)
    assert seen.status == "done" and seen.result is not None and seen.result.passages > 0


def test_upload_bombs_get_a_4xx_naming_the_file_and_nothing_changes(
    client: TestClient, settings: Settings
) -> None:
    from tests.hostile_files import docx_bomb, pdf_whitespace_bomb, yaml_laughs

    before = state(settings)
    responses = {
        "bomb.docx": upload(client, "bomb.docx", docx_bomb(1024)),
        "bomb.pdf": upload(client, "bomb.pdf", pdf_whitespace_bomb(pages=8, stream_mib=16)),
        "laughs.md": upload(client, "laughs.md", yaml_laughs().encode()),
    }

    assert {name: r.status_code for name, r in responses.items()} == {
        "bomb.docx": 413, "bomb.pdf": 413, "laughs.md": 422}
    for name, response in responses.items():
        assert name in response.json()["error"] and response.json()["status"] >= 400
    assert state(settings)[1] == before[1]


def test_jobs_list_shows_reindex_and_upload_rebuilds_newest_first(
        client: TestClient, settings: Settings) -> None:
    job = wait_for_job(client, client.post("/api/v1/reindex", headers=AUTH).json()["job"])
    assert upload(client, "policy.txt", POLICY_TEXT.encode("gbk"), title=POLICY_TITLE
                  ).status_code == 201
    assert upload(client, "bad.exe", b"MZ").status_code == 415  # refused: leaves no job
    jobs = client.get("/api/v1/reindex", headers=AUTH).json()["jobs"]
    assert [(j["kind"], j["status"]) for j in jobs] == [("upload", "done"), ("reindex", "done")]
    assert jobs[1]["job"] == job["job"] and jobs[1]["seconds"] >= 0
    assert jobs[0]["stage"] == "published" and jobs[0]["done"] == jobs[0]["total"] > 0
    assert jobs[0]["started"].endswith("+00:00")
