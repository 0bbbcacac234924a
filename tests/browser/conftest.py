"""Headless Debian Chromium driven by Playwright, against a live `hadar serve` per module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import playwright.sync_api as playwright
import pytest

from tests.fuzz import LiveServer, live_server

CHROMIUM = shutil.which("chromium")
# No network but loopback here: keep Chromium from reaching out (and failing) on its own.
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("browser")) as live:
        yield live


@pytest.fixture
def page(server: LiveServer) -> Iterator[playwright.Page]:
    # A browser test that cannot run has not passed: fail, never skip.
    assert CHROMIUM, "Chromium is missing: run scripts/ensure-chromium.sh (make test does)"
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()
