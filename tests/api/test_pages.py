"""The web chat page: HTML at /, static files, CSP-safe markup, HTML 404 outside the APIs."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.pages import WEB_DIR

EXAMPLES = (
    "企业在哪里可以查到惠企政策？",
    "外籍员工的工作许可和居留能一起办吗？",
    "高新区对人才有什么政策？",
    "科创金融有哪些产品？",
    "我们是专精特新企业，能享受哪些政策？",
)


class Markup(HTMLParser):
    """Collects what CSP cares about: scripts, styles, inline handlers, local URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.script_bodies: list[str] = []
        self.style_blocks = 0
        self.inline_attributes: list[str] = []
        self.local_urls: list[str] = []
        self.labels: set[str] = set()
        self.ids: dict[str, dict[str, str | None]] = {}
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        if tag == "style":
            self.style_blocks += 1
        if tag == "label" and attributes.get("for"):
            self.labels.add(str(attributes["for"]))
        if attributes.get("id"):
            self.ids[str(attributes["id"])] = {"tag": tag, **attributes}
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.inline_attributes.append(f"<{tag} {name}>")
            if name in ("src", "href") and value and value.startswith("/static/"):
                self.local_urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_bodies.append(data)


def parse(html: str) -> Markup:
    markup = Markup()
    markup.feed(html)
    return markup


def test_index_is_html_with_the_strict_csp(seed_client: TestClient) -> None:
    response = seed_client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert '<html lang="zh-CN">' in response.text


def test_index_shows_scope_and_example_questions(seed_client: TestClient) -> None:
    html = seed_client.get("/").text
    for phrase in ("惠企政策", "人才", "金融", "审批", "自贸区", *EXAMPLES):
        assert phrase in html
    assert html.count('class="example"') == len(EXAMPLES)


def test_index_has_no_inline_script_or_style(seed_client: TestClient) -> None:
    markup = parse(seed_client.get("/").text)
    assert markup.scripts and all(script.get("src") for script in markup.scripts)
    assert markup.script_bodies == []
    assert markup.style_blocks == 0
    assert markup.inline_attributes == []


def test_index_is_accessible_markup(seed_client: TestClient) -> None:
    markup = parse(seed_client.get("/").text)
    assert markup.ids["conversation"]["aria-live"] == "polite"
    assert markup.ids["question"]["tag"] == "textarea"
    assert "question" in markup.labels
    assert markup.ids["send"]["tag"] == "button"
    assert markup.ids["passage-dialog"]["tag"] == "dialog"


def test_every_static_url_in_the_page_is_served(seed_client: TestClient) -> None:
    urls = parse(seed_client.get("/").text).local_urls
    assert any(url.startswith("/static/app.js") for url in urls)
    assert any(url.startswith("/static/app.css") for url in urls)
    for url in urls:
        response = seed_client.get(url)
        assert response.status_code == 200, url
        assert "content-security-policy" in response.headers


@pytest.mark.parametrize(("path", "content_type"), [
    ("/static/app.js", "javascript"),
    ("/static/app.css", "text/css"),
    ("/static/thumb-up.svg", "image/svg+xml"),
])
def test_static_files_are_served_with_their_type(seed_client: TestClient, path: str,
                                                 content_type: str) -> None:
    response = seed_client.get(path)
    assert response.status_code == 200
    assert content_type in response.headers["content-type"]


def test_script_never_parses_text_as_html() -> None:
    script = (WEB_DIR / "static" / "app.js").read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", script)


def test_stylesheet_loads_nothing_from_other_sites() -> None:
    for path in Path(WEB_DIR / "static").iterdir():
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text and "//cdn" not in text, path.name


def test_unknown_page_is_an_html_404(seed_client: TestClient) -> None:
    response = seed_client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "页面不存在" in response.text
    assert "content-security-policy" in response.headers


def test_unknown_api_path_stays_a_json_404(seed_client: TestClient) -> None:
    response = seed_client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.json() == {"error": "no such endpoint: GET /api/v1/no-such-endpoint; "
                                        "see /docs", "status": 404}


def test_missing_static_file_is_a_json_404(seed_client: TestClient) -> None:
    response = seed_client.get("/static/missing.js")
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_wrong_method_on_the_page_keeps_the_json_error(seed_client: TestClient) -> None:
    response = seed_client.post("/")
    assert response.status_code == 405
    assert response.json()["status"] == 405


@pytest.mark.slow
def test_a_built_wheel_ships_the_web_page(tmp_path: Path) -> None:
    """A non-editable install (pip install .) has the page too: the wheel carries web/."""
    import shutil
    import subprocess
    import sys
    import zipfile

    repo = Path(__file__).resolve().parents[2]
    source = tmp_path / "source"
    for name in ("service", "web"):
        shutil.copytree(repo / name, source / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(repo / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(source)], check=True)
    wheel = next((tmp_path / "dist").glob("policybot-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (WEB_DIR / "templates").iterdir():
        assert f"service/web/templates/{path.name}" in names
    for path in (WEB_DIR / "static").iterdir():
        assert f"service/web/static/{path.name}" in names
    for path in (repo / "service" / "data").iterdir():  # the taxonomy and the dictionary
        assert f"service/data/{path.name}" in names
    for module in (repo / "service").rglob("*.py"):  # every subpackage, found not listed
        assert module.relative_to(repo).as_posix() in names
    installed = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(installed)  # what pip install puts in site-packages
    found = subprocess.run(
        [sys.executable, "-c", "import service.api.pages as p; print(p.WEB_DIR)"],
        env={"PYTHONPATH": str(installed), "PATH": ""}, cwd=tmp_path, capture_output=True,
        text=True, check=True).stdout.strip()
    assert Path(found) == installed / "service" / "web"
