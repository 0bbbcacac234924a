"""The safety net under every log line and Sentry event: scrub what looks like a secret or a
person before it leaves the process.

Code should never log personal data in the first place; this catches the mistakes (an exception
message echoing an input, a header dumped while debugging). Shapes scrubbed: Hadar API tokens
(also mistyped ones), webhook secrets, `Authorization` values and bearer credentials, e-mail
addresses (also WhatsApp chat ids such as `971501234567@c.us`) and E.164-looking phone numbers.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"

_LOCAL = r"A-Za-z0-9.!#$%&*+/=?^_`~-"

# (a substring without which the pattern cannot match, the pattern, its replacement): the cheap
# substring test keeps the common line (no secret at all) at a few microseconds.
_PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    # A header line or a key=value / "key": "value" pair: keep the name, drop the credential.
    (
        "authorization",
        re.compile(
            r"""(?i)(\bauthorization\b["']?\s*[:=]\s*["']?)(?:(?:bearer|basic)\s+)?[^\s"',;}]+"""
        ),
        rf"\1{REDACTED}",
    ),
    ("bearer", re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{6,}"), rf"\1 {REDACTED}"),
    ("basic", re.compile(r"(?i)\b(basic)\s+[A-Za-z0-9._~+/=-]{6,}"), rf"\1 {REDACTED}"),
    # Tokens are `hdr_live_`/`hdr_test_` + 32 base62; a truncated or mistyped one is still secret.
    ("hdr_", re.compile(r"\bhdr_(live|test)_[0-9A-Za-z]{4,}"), rf"hdr_\1_{REDACTED}"),
    ("whsec_", re.compile(r"\bwhsec_[A-Za-z0-9_\-+/=]{4,}"), f"whsec_{REDACTED}"),
    # The lookbehind starts a match only where a local part starts (linear, not quadratic).
    ("@", re.compile(rf"(?<![{_LOCAL}])[{_LOCAL}]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), REDACTED),
    # The same, percent-encoded in a URL (`aisha%40example.com`, `%2B971501234567`).
    (
        "%40",
        re.compile(r"(?i)(?<![A-Za-z0-9._~-])[A-Za-z0-9._~-]+%40[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
        REDACTED,
    ),
    ("%2b", re.compile(r"(?i)%2B[1-9]\d{6,14}\b"), REDACTED),
    # E.164 (`+971501234567`) and the same written with spaces or dashes (`+971 50 123 4567`).
    ("+", re.compile(r"\+[1-9](?:[ -]?\d){6,14}\b"), REDACTED),
)


def scrub(text: str) -> str:
    """`text` with every secret- or person-shaped substring replaced by a marker."""
    lowered = text.lower()
    for needle, pattern, replacement in _PATTERNS:
        if needle in lowered:
            text = pattern.sub(replacement, text)
    return text


def scrub_value(value: Any) -> Any:
    """`scrub` applied to every string inside nested dicts, lists and tuples."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: scrub_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(scrub_value(item) for item in value)
    return value
