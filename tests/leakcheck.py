"""The suite-wide leak check: every log record of the test run, at DEBUG, goes through Hadar's own
filters and JSON formatter into one file; at the end of the session no phone, e-mail or token a
test used may appear in it, in any spelling (the token's body alone, the phone without its `+`,
the e-mail percent-encoded).

`remember` registers values; every token minted in this process is registered on the way out of
`hadar.platform.tokens.generate`.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import urllib.parse
from pathlib import Path

from hadar.observability import logs
from hadar.observability.redaction import scrub
from hadar.platform import tokens

# Values written into tests by hand (agents' and leads' e-mails, phones in several spellings).
FIXED = (
    "sara@agency.ae",
    "omar@agency.ae",
    "aisha@example.com",
    "aisha.khan@example.com",
    "layla.haddad@example.org",
    "zed@example.ae",
    "+971501234567",
    "+971525550142",
    "050 123 4567",
)
_sensitive: set[str] = set(FIXED)
_handler: logging.Handler | None = None
_previous_level = logging.WARNING
PATH = Path(tempfile.gettempdir()) / f"hadar-test-log-{os.getpid()}.jsonl"


def remember(*values: str | None) -> None:
    """Register test values that must never be logged."""
    _sensitive.update(value for value in values if value)


def _spellings(value: str) -> set[str]:
    out = {value.lower()}
    if value.startswith(("hdr_live_", "hdr_test_")):
        out.add(value[9:].lower())  # the body alone, however the prefix got lost
    if value.startswith("+"):
        out.add(value[1:])  # a WhatsApp id or a URL-decoded plus
    if "@" in value:
        out.add(urllib.parse.quote(value).lower())
    return {spelling for spelling in out if len(spelling) >= 8}


def _remember_minted() -> None:
    generate = tokens.generate

    def remembering(environment: str) -> str:
        token = generate(environment)
        remember(token)
        return token

    tokens.generate = remembering


def start() -> None:
    """Attach the capture handler to the root logger and open it to DEBUG."""
    global _handler, _previous_level
    _remember_minted()
    PATH.unlink(missing_ok=True)
    # Append mode: a dictConfig elsewhere (uvicorn's, in tests that start servers) closes every
    # handler; an appending FileHandler reopens on the next record instead of going quiet.
    _handler = logs.install_filters(logging.FileHandler(PATH, mode="a", encoding="utf-8"), "json")
    _handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    _previous_level = root.level
    root.addHandler(_handler)
    root.setLevel(logging.DEBUG)
    # What production can write: the loggers Hadar's logging setup keeps quiet (SQL parameters,
    # raw URLs) stay at their production level here too; everything else is captured at DEBUG.
    for name, level in logs.QUIET.items():
        logging.getLogger(name).setLevel(level)


def finish() -> tuple[int, list[str]]:
    """Detach the handler; (lines captured, offending lines shown with the value masked)."""
    if _handler is None:
        return 0, []
    root = logging.getLogger()
    root.removeHandler(_handler)
    root.setLevel(_previous_level)
    _handler.close()
    lines = PATH.read_text("utf-8").splitlines() if PATH.exists() else []
    return len(lines), offending_lines(lines, _sensitive)


# Where a test value can hide in a line: tokens (whole or their body), phone digit runs (with or
# without `+`), e-mail-shaped runs (plain or percent-encoded). Extracting candidates and looking
# them up keeps the check linear in the size of the log, whatever the number of values.
_CANDIDATES = re.compile(
    r"hdr_(?:live|test)_[0-9a-z]{32}"
    r"|(?<![0-9a-z])[0-9a-z]{32}(?![0-9a-z])"
    r"|\+?(?<!\d)\d{8,15}(?!\d)"
    r"|[0-9a-z._+\-]+(?:@|%40)[0-9a-z.\-]+"
)


def offending_lines(lines: list[str], values: set[str]) -> list[str]:
    """The lines holding any spelling of any of `values`, each shown with the value masked."""
    spellings = {spelling for value in values for spelling in _spellings(value)}
    # Spellings no candidate pattern can produce (e.g. `050 123 4567`) are searched as is.
    loose = {s for s in spellings if not _CANDIDATES.fullmatch(s) and not s.startswith("+")}
    offending: list[str] = []
    for line in lines:
        lowered = line.lower()
        found: set[str] = set()
        for candidate in _CANDIDATES.findall(lowered):
            for form in (candidate, candidate.lstrip("+"), candidate.rstrip(".")):
                if form in spellings:
                    found.add(form)
        found |= {s for s in loose if s in lowered}
        if found:
            shown = line
            for spelling in found:
                shown = re.sub(re.escape(spelling), "<TEST VALUE>", shown, flags=re.IGNORECASE)
            offending.append(scrub(shown)[:500])
    return offending
