"""HTTP edges: chunked bodies over the limit, Allow on 405, HEAD, /readyz wording, /docs."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.presenters import without_paths
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from service.index.store import current_version
from tests.api.test_errors import assert_error


def chunks(total: int, size: int = 8192) -> Iterator[bytes]:
    yield b'{"question": "'
    for _ in range(total // size):
        yield b"x" * size
    yield b'"}'


def test_a_chunked_body_over_the_limit_is_413(seed_client: TestClient) -> None:
    response = seed_client.post("/api/v1/ask", content=chunks(200_000),
                                headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "larger than 65536 bytes")


def test_a_chunked_body_under_the_limit_is_served(seed_client: TestClient) -> None:
    body = iter([b'{"query": "', "泉惠企".encode(), b'"}'])
    response = seed_client.post("/api/v1/search", content=body,
                                headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/api/v1/ask", "POST"),
    ("DELETE", "/api/v1/feedback", "GET, HEAD, POST"),
    ("POST", "/readyz", "GET, HEAD"),
])
def test_405_names_the_allowed_methods(seed_client: TestClient, method: str, path: str,
                                       allowed: str) -> None:
    response = seed_client.request(method, path)
    assert_error(response, 405, "not allowed", allowed)
    assert response.headers["allow"] == allowed


@pytest.mark.parametrize("path", ["/", "/readyz", "/healthz", "/api/v1/documents"])
def test_head_is_answered_where_get_is(seed_client: TestClient, path: str) -> None:
    get = seed_client.get(path)
    head = seed_client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]


def test_paths_are_cut_from_messages_anyone_can_read() -> None:
    message = ("index version v2 could not be loaded (FileNotFoundError: [Errno 2] No such "
               "file or directory: '/srv/policybot/index/versions/v2/vectors.faiss')")
    assert without_paths(message).endswith("'…/vectors.faiss')")
    assert without_paths("POST /api/v1/ask, see /docs or https://example.org/a/b") == \
        "POST /api/v1/ask, see /docs or https://example.org/a/b"


def test_readyz_shows_no_absolute_path_and_forgets_a_load_error_after_recovery(
        settings: Settings, embedder: Embedder) -> None:
    index_dir = settings.index_dir
    good = current_version(index_dir)
    assert good is not None
    broken = index_dir / "versions" / "broken-v2"
    broken.mkdir(parents=True)
    with TestClient(create_app(settings, embedder=embedder)) as client:
        (index_dir / "CURRENT").write_text("broken-v2\n")
        client.app.state.holder.refresh()  # type: ignore[attr-defined]
        failed = client.get("/readyz").json()
        assert failed["index_version"] == good and failed["load_error"]
        assert str(index_dir) not in failed["load_error"]
        assert not re.search(r"(?<![\w.])/(tmp|home|root|work|srv)/", failed["load_error"])
        (index_dir / "CURRENT").write_text(good + "\n")
        client.app.state.holder.refresh()  # type: ignore[attr-defined]
        assert client.get("/readyz").json()["load_error"] is None


def test_docs_are_served_from_this_server_with_a_csp(seed_client: TestClient) -> None:
    page = seed_client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources)
    assert "<script>" not in page.text  # no inline script
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-eval" not in csp
    for source in sources:
        asset = seed_client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 100
    assert seed_client.get("/redoc").status_code == 404
