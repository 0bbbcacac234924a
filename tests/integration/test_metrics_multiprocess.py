"""`hadar serve --workers 2` with HADAR_LOG_FORMAT=json and HADAR_METRICS_TOKEN: whichever worker
answers a scrape reports every worker's counts, and stderr is JSON lines only, one access line
per request, no uvicorn access log."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SECRET
from tests.dbutil import create_database, drop_database
from tests.integration.conftest import HADAR, free_port

TOKEN = "m-" + uuid.uuid4().hex
REQUESTS = 30


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    server = os.environ.get("HADAR_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite://{tmp_path / 'mp.db'}"
        return
    url = f"{server.rpartition('/')[0]}/hadar_mm_{uuid.uuid4().hex[:10]}"
    await create_database(url)
    try:
        yield url
    finally:
        await drop_database(url)


def leads_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "hadar_http_requests_total" and labels == {
                "route": "/api/v1/leads",
                "method": "GET",
                "status": "200",
            }:
                return sample.value
    return 0.0


async def test_two_workers_report_one_sum_and_log_json(database_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HADAR_", "PROMETHEUS_"))}
    env.update(
        HADAR_DATABASE_URL=database_url,
        HADAR_SECRET_KEY=SECRET,
        HADAR_METRICS_TOKEN=TOKEN,
        HADAR_LOG_FORMAT="json",
    )
    port, log = free_port(), tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [HADAR, "serve", "--port", str(port), "--workers", "2", "--no-worker"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection, any worker, each time
    try:
        async with httpx.AsyncClient(base_url=base, limits=fresh, timeout=5) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                await asyncio.sleep(0.1)
            mint = [HADAR, "keys", "create", "--tenant", f"mm-{uuid.uuid4().hex[:8]}", "--env"]
            mint += ["test", "--role", "admin", "--plan", "enterprise"]
            minted = subprocess.run(
                mint,
                env=env,
                cwd=tmp_path,
                capture_output=True,
                timeout=60,
                check=True,
            )
            key = minted.stdout.decode().strip()
            auth = {"Authorization": f"Bearer {key}"}
            traces = []
            for _ in range(REQUESTS):
                r = await client.get("/api/v1/leads?limit=1", headers=auth)
                assert r.status_code == 200
                traces.append(r.headers["x-trace-id"])
            scrapes = [
                await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
                for _ in range(6)
            ]
            assert (await client.get("/metrics", headers=auth)).status_code == 404
    finally:
        proc.terminate()
        proc.wait(20)
    assert [r.status_code for r in scrapes] == [200] * 6
    assert [leads_count(r.text) for r in scrapes] == [REQUESTS] * 6
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # JSON, every line
    access = [line for line in lines if line["logger"] == "hadar.access"]
    leads = [line for line in access if line["route"] == "/api/v1/leads"]
    assert sorted(line["trace_id"] for line in leads) == sorted(traces)
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
    assert len({line["pid"] for line in lines if line["message"].startswith("Started server")}) == 2
    text = log.read_text()
    assert key not in text and key[9:] not in text and TOKEN not in text and "limit=1" not in text
    served_by = {line["pid"] for line in access}
    print(f"access lines by {len(served_by)} worker process(es)")
