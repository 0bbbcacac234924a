"""Browser tests (headless Chromium)."""
