async def test_create_and_list(ws):
    r = await ws.request(
        "POST",
        "/api/v1/leads",
        json={
            "name": "Aisha Khan",
            "phone": "+971501234567",
            "email": "Aisha@Example.COM",
            "source": "bayut",
            "budget_aed": 1800000,
            "bedrooms": 2,
            "area": "Dubai Marina",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["error"] is None
    lead = body["data"]
    assert lead["id"].startswith("lead_")
    assert lead["email"] == "Aisha@example.com"
    assert lead["score"] == 78
    r = await ws.request("GET", "/api/v1/leads")
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["data"]["items"]] == [lead["id"]]
    assert r.headers["x-ratelimit-limit"] == "1000"
