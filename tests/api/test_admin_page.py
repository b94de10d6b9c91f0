"""The staff console page: served without the token (it signs in from the browser), with
the strict CSP, no inline script, and its script and stylesheet."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_admin_page_is_served_with_a_strict_csp(seed_client: TestClient) -> None:
    response = seed_client.get("/admin")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    html = response.text
    scripts = re.findall(r"<script[^>]*>", html)
    assert len(scripts) == 1 and 'src="/static/admin.js' in scripts[0]
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no inline event handlers
    assert "/static/admin.css" in html and "管理令牌" in html
    for asset in ("/static/admin.js", "/static/admin.css"):
        assert seed_client.get(asset).status_code == 200


def test_admin_script_never_writes_html() -> None:
    from service.api.pages import WEB_DIR

    script = (WEB_DIR / "static" / "admin.js").read_text("utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
