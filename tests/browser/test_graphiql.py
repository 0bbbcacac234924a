"""GraphiQL in headless Chromium against a live `hadar serve`, with every off-host request
refused: the IDE loads from Hadar's own assets, and a query typed into it (with the key set in
its Headers editor) answers with data."""

from __future__ import annotations

import json

import httpx
import playwright.sync_api as playwright

from tests.fuzz import LiveServer

QUERY = "{ leads(first: 5) { edges { node { id name source } } pageInfo { hasNextPage } } }"


def _editor(p: playwright.Page, selector: str) -> playwright.Locator:
    return p.locator(f"{selector} .graphiql-editor:not(.hidden) .CodeMirror").first


def _type_into(p: playwright.Page, editor: playwright.Locator, text: str) -> None:
    editor.click()
    p.keyboard.press("Control+A")
    p.keyboard.press("Delete")
    # insert_text sends the text as typed input without key events, so the editor's
    # bracket auto-closing does not double the braces.
    p.keyboard.insert_text(text)


def test_graphiql_runs_a_typed_query_offline(server: LiveServer, page: object) -> None:
    lead = httpx.post(
        f"{server.url}/api/v1/leads",
        json={"name": "Browser Lead", "phone": "+971501239876", "source": "bayut"},
        headers={"Authorization": f"Bearer {server.token}"},
    ).json()["data"]
    p: playwright.Page = page  # type: ignore[assignment]
    external: list[str] = []
    broken: list[str] = []

    def only_own_host(route: playwright.Route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    p.route("**/*", only_own_host)
    p.on("console", lambda m: broken.append(m.text) if m.type == "error" else None)
    p.goto(f"{server.url}/graphql")
    playwright.expect(p.locator(".graphiql-container .graphiql-query-editor")).to_be_visible()

    p.get_by_role("button", name="Headers").click()
    headers_editor = _editor(p, ".graphiql-editor-tool")
    playwright.expect(headers_editor).to_be_visible()
    _type_into(p, headers_editor, json.dumps({"Authorization": f"Bearer {server.token}"}))
    _type_into(p, p.locator(".graphiql-query-editor .CodeMirror").first, QUERY)
    p.locator(".graphiql-execute-button").click()

    result = p.locator(".graphiql-response .CodeMirror").first
    playwright.expect(result).to_contain_text(lead["id"])
    playwright.expect(result).to_contain_text("Browser Lead")
    assert external == [], f"GraphiQL tried to reach other hosts: {external}"
    assert not [m for m in broken if "integrity" in m.lower()], broken
