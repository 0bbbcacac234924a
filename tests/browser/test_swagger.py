"""Swagger UI in headless Chromium against a live `hadar serve`: it renders the Hadar docs, and
"Try it out" on GET /api/v1/leads with a key pasted into Authorize answers 200 with the envelope.
"""

from __future__ import annotations

import json

import playwright.sync_api as playwright

from tests.fuzz import LiveServer


def test_docs_page_renders_title_and_lead_operations(server: LiveServer, page: object) -> None:
    p: playwright.Page = page  # type: ignore[assignment]
    external: list[str] = []
    p.on("request", lambda r: None if r.url.startswith(server.url) else external.append(r.url))
    p.goto(f"{server.url}/developers/api-docs")
    playwright.expect(p.locator(".info .title")).to_contain_text("Hadar API")
    for op in ("leads_create", "leads_list", "leads_retrieve", "leads_update", "leads_delete"):
        playwright.expect(p.locator(f"#operations-Leads-{op}")).to_be_visible()
    playwright.expect(p.locator("#operations-Leads-leads_list")).to_contain_text("/api/v1/leads")
    assert external == [], f"the docs page fetched from elsewhere: {external}"


def test_try_it_out_lists_leads_with_a_pasted_key(server: LiveServer, page: object) -> None:
    p: playwright.Page = page  # type: ignore[assignment]
    p.goto(f"{server.url}/developers/api-docs")
    p.locator(".auth-wrapper .authorize").click()
    p.locator(".modal-ux input[type=text], .modal-ux input[type=password]").first.fill(server.token)
    p.locator(".modal-ux .auth-btn-wrapper .authorize").click()
    p.locator(".modal-ux .btn-done").click()

    op = p.locator("#operations-Leads-leads_list")
    op.locator(".opblock-summary").first.click()
    op.locator(".try-out__btn").click()
    op.locator(".execute").click()
    status = op.locator(".live-responses-table .response .response-col_status").first
    playwright.expect(status).to_have_text("200")
    text = op.locator(".live-responses-table .response-col_description pre").first.inner_text()
    body = json.loads(text)
    assert body["error"] is None
    assert set(body["data"]) == {"items", "pagination"}
    assert "Bearer hdr_test_" in op.locator(".curl-command").inner_text()
