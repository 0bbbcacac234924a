"""Shared fixtures: one database per test session (SQLite by default, PostgreSQL when
HADAR_TEST_DATABASE_URL is set), migrated with the real migrations, and the ASGI app."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hadar import pagination, secretbox
from hadar.app import create_app
from hadar.db import close_db, open_db
from hadar.migrate import migrate
from hadar.services import keys
from hadar.settings import Settings
from tests import leakcheck  # observability
from tests.dbutil import create_database, drop_database

SECRET = "test-secret-key-0123456789-abcdefghij"


def pytest_configure(config: pytest.Config) -> None:
    leakcheck.start()  # observability: every log record of the run, through our filters


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """observability: fail the run when a test's phone, e-mail or token reached the logs."""
    captured, offending = leakcheck.finish()
    if not offending:
        leakcheck.PATH.unlink(missing_ok=True)
        return
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "personal data or secrets in the logs", red=True)
        reporter.write_line(f"{len(offending)} of {captured} lines (all in {leakcheck.PATH}):")
        for line in offending[:20]:
            reporter.write_line(line)


def database_url(tmp: Path) -> str:
    """SQLite in a temp dir, or a fresh database on the PostgreSQL server named by
    HADAR_TEST_DATABASE_URL (one per session, so parallel runs never share tables)."""
    server = os.environ.get("HADAR_TEST_DATABASE_URL")
    if not server:
        return f"sqlite://{tmp / 'hadar-test.db'}"
    base, _, _ = server.rpartition("/")
    return f"{base}/hadar_t_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("db")
    return Settings(
        database_url=database_url(tmp),
        redis_url=os.environ.get("HADAR_TEST_APP_REDIS_URL") or None,
        secret_key=SECRET,
        allow_private_webhook_urls=True,
        webhook_backoff_scale=0.001,
    )


@pytest.fixture(scope="session", autouse=True)
async def database(settings: Settings) -> AsyncIterator[None]:
    await create_database(settings.database_url)
    secretbox.configure(settings.secret_key)  # before migrate: its seal step uses the box
    await migrate(settings.database_url)
    pagination.configure(settings.secret_key)
    await open_db(settings.database_url)
    yield
    await close_db()
    await drop_database(settings.database_url)


@pytest.fixture(scope="session")
def app(settings: Settings, database: None) -> Any:
    return create_app(settings)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hadar.test") as c:
        yield c


class Workspace:
    """A fresh tenant with keys for each role and environment, and helpers to call the API."""

    def __init__(self, client: httpx.AsyncClient, slug: str) -> None:
        self.client = client
        self.slug = slug
        self.tokens: dict[tuple[str, str], str] = {}
        self.key_ids: dict[tuple[str, str], str] = {}

    async def key(self, env: str = "test", role: str = "admin", **kw: Any) -> str:
        if (env, role) not in self.tokens or kw:
            minted = await keys.mint_for_tenant(
                slug=self.slug, environment=env, role=role, secret=SECRET, **kw
            )
            self.tokens[(env, role)] = minted.token
            self.key_ids[(env, role)] = minted.key.id
        return self.tokens[(env, role)]

    async def headers(self, env: str = "test", role: str = "admin", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.key(env, role)}", **extra}

    async def request(
        self,
        method: str,
        path: str,
        *,
        env: str = "test",
        role: str = "admin",
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        h = {**(await self.headers(env, role)), **(headers or {})}
        return await self.client.request(method, path, headers=h, **kw)

    async def subscribe(self, *envs: str) -> None:
        """An endpoint subscribed to every event in each environment (test and live by
        default): without one, events leave no outbox row to look at (hadar.services.events).
        Its address answers nothing; worker tests clear pending deliveries first."""
        for env in envs or ("test", "live"):
            body = {"url": "https://127.0.0.1:9/hooks", "events": ["*"]}
            r = await self.request("POST", "/api/v1/webhooks", env=env, json=body)
            assert r.status_code == 201, r.text


@pytest.fixture
async def ws(client: httpx.AsyncClient) -> Workspace:
    slug = f"t-{uuid.uuid4().hex[:12]}"
    workspace = Workspace(client, slug)
    await workspace.key("test", "admin", plan="enterprise")
    return workspace


def lead_body(**over: Any) -> dict[str, Any]:
    n = uuid.uuid4().int % 10_000_000
    body = {"name": "Aisha Khan", "phone": f"+97150{n:07d}", "source": "bayut"}
    body.update(over)
    leakcheck.remember(body.get("phone"), body.get("email"))  # observability
    return body
