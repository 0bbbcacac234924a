"""Webhook signatures, exactly as the API reference shows them.

    X-Hadar-Signature: t=1715760000,v1=<hex HMAC-SHA256 of "{t}.{raw body}">[,v1=<…>]

During a secret rotation the header carries two `v1=` entries: the previous secret's first and
the current secret's last, so the reference's Node.js verifier (which keeps the last `v1`) accepts
it with the current secret, and `verify` below accepts either.

Receivers in Python can copy this function as is:

    import hashlib, hmac, time

    def verify(raw_body: bytes, header: str, secret: str, tolerance: int = 300) -> bool:
        items = [p.split("=", 1) for p in header.split(",") if "=" in p]
        stamps = [v for k, v in items if k.strip() == "t"]
        if len(stamps) != 1 or not stamps[0].isdigit():
            return False
        if abs(time.time() - int(stamps[0])) > tolerance:
            return False
        signed = stamps[0].encode() + b"." + raw_body
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return any(hmac.compare_digest(expected, v) for k, v in items if k.strip() == "v1")
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
DEFAULT_TOLERANCE = 300


def new_secret() -> str:
    """A fresh endpoint secret: `whsec_` + 32 random bytes, URL-safe base64."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def signature(raw_body: bytes | str, secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of `{timestamp}.{raw_body}` under `secret`."""
    signed = str(timestamp).encode() + b"." + _as_bytes(raw_body)
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(
    raw_body: bytes | str, signing_secrets: Sequence[str], timestamp: int | None = None
) -> str:
    """The X-Hadar-Signature value: `t=…` then one `v1=…` per secret, in the order given."""
    stamp = int(time.time()) if timestamp is None else timestamp
    parts = [f"t={stamp}"]
    parts.extend(f"v1={signature(raw_body, secret, stamp)}" for secret in signing_secrets)
    return ",".join(parts)


def verify(
    raw_body: bytes | str,
    header: str,
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> bool:
    """True when `header` signs `raw_body` with `secret` (any v1 entry) and its timestamp is
    within `tolerance` seconds of now; constant-time compare, like the reference verifier."""
    items = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value.strip() for key, value in items if key.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(stamps[0])) > tolerance:
        return False
    expected = signature(raw_body, secret, int(stamps[0]))
    candidates = [value.strip() for key, value in items if key.strip() == "v1"]
    # Compare against every candidate (no early exit) so timing reveals nothing.
    matches = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    return any(matches)
