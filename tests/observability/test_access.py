"""The access line names the route template, never the raw path or query string."""

from __future__ import annotations

import json

from tests.conftest import Workspace, lead_body
from tests.observability.conftest import Lines, access_lines


async def test_the_line_has_the_route_template_and_never_the_path_or_query(
    ws: Workspace, json_log: Lines
) -> None:
    lead = (await ws.request("POST", "/api/v1/leads", json=lead_body())).json()["data"]
    token = await ws.key("test", "viewer")
    mistaken = f"/api/v1/leads/{lead['id']}?token={token}&email=aisha%40example.com"
    answers = [
        await ws.request("GET", mistaken),
        await ws.request("PATCH", f"/v1/leads/{lead['id']}", json={"status": "contacted"}),
        await ws.request("PUT", f"/api/leads/{lead['id']}"),
        await ws.client.get(f"/nothing/here/{token}"),
        await ws.client.get("/static/graphiql/missing.js?x=1"),
    ]
    assert [r.status_code for r in answers] == [400, 200, 404, 404, 404]  # unknown query params
    access = access_lines(json_log())[1:]
    assert [(line["method"], line["route"]) for line in access] == [
        ("GET", "/api/v1/leads/{lead_id}"),
        ("PATCH", "/v1/leads/{lead_id}"),
        ("PUT", "/api/leads/{lead_id}"),  # 405 from the router: still its route
        ("GET", "<unmatched>"),
        ("GET", "/static/{path}"),
    ]
    # Everything the server logged (httpx here is the test's own client, quiet in `hadar serve`).
    text = json.dumps([line for line in json_log() if not line["logger"].startswith("httpx")])
    assert lead["id"] not in text and token not in text and token[9:] not in text
    assert "aisha" not in text and "token=" not in text


async def test_an_invented_method_is_one_label(ws: Workspace, json_log: Lines) -> None:
    r = await ws.client.request("BREW", "/api/v1/leads")
    assert r.status_code == 404
    (line,) = access_lines(json_log())
    assert (line["method"], line["route"], line["status"]) == ("other", "/api/v1/leads", 404)
