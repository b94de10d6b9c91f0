"""/docs renders Swagger UI from this server under its CSP, with no request elsewhere."""

from __future__ import annotations

from playwright.sync_api import Page


def test_docs_render_the_operations_from_local_files_only(page: Page, server_url: str) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(server_url + "/docs", wait_until="load")
    page.locator(".opblock-summary-path", has_text="/api/v1/ask").first.wait_for()
    assert page.locator(".opblock").count() >= 8
    assert requested and all(url.startswith(server_url) or url.startswith("data:")
                             for url in requested), requested
