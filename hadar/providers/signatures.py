"""Authenticating what providers POST to Hadar, on the raw bytes, before anything is parsed.

    Meta    X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>
            (a legacy `sha1=` value alone is refused: SHA-1 is not what we verify)
    Stripe  Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=…]
            any v1 may match (secret rotation); v0 and unknown schemes are ignored;
            |now - t| <= 300 s, now from `hadar.clock`
    Vapi    X-Vapi-Secret: <the integration's webhook token>, compared in constant time
    UltraMsg  signs nothing: `?token=<the integration's webhook token>` on the URL, same compare
    Meta's subscription check (GET hub.mode=subscribe&hub.verify_token=…&hub.challenge=…)
            answers the challenge only for the configured verify token

Every function is pure, returns a bool, and compares in constant time. The raw body must be
the exact bytes received: re-serialised JSON breaks on emoji and Arabic.
"""

from __future__ import annotations

import hashlib
import hmac

from hadar import clock

STRIPE_TOLERANCE = 300


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def meta_signature(raw_body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta sends for `raw_body`."""
    return "sha256=" + _hmac_hex(app_secret, raw_body)


def verify_meta(*, raw_body: bytes, header: str | None, app_secret: str | None) -> bool:
    """True when `header` is `sha256=` + the HMAC of the raw body under the app secret."""
    if not app_secret or not header:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        return False
    expected = meta_signature(raw_body, app_secret).removeprefix("sha256=")
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def stripe_signature(raw_body: bytes, secret: str, timestamp: int) -> str:
    """The hex v1 signature Stripe computes over `"{timestamp}.{raw_body}"`."""
    return _hmac_hex(secret, str(timestamp).encode() + b"." + raw_body)


def verify_stripe(
    *,
    raw_body: bytes,
    header: str | None,
    secret: str | None,
    tolerance: int = STRIPE_TOLERANCE,
    now: float | None = None,
) -> bool:
    """True when one `v1` of `header` signs `t.raw_body` with `secret` and `t` is within
    `tolerance` seconds of now (either side)."""
    if not secret or not header:
        return False
    stamps: list[str] = []
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            stamps.append(value.strip())
        elif key == "v1":
            candidates.append(value.strip().lower())
    if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].isdigit()) or not candidates:
        return False
    current = clock.now().timestamp() if now is None else now
    if abs(current - int(stamps[0])) > tolerance:
        return False
    expected = stripe_signature(raw_body, secret, int(stamps[0])).encode()
    # Compare against every candidate (no early exit), so timing says nothing about which.
    matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in candidates]
    return any(matches)


def verify_token(*, given: str | None, expected: str | None) -> bool:
    """True when a shared-secret token (Vapi's `X-Vapi-Secret`, UltraMsg's `?token=`) equals
    the integration's; an unset expected token accepts nothing."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def verify_vapi_secret(*, header: str | None, expected: str | None) -> bool:
    """True when the `X-Vapi-Secret` header equals the integration's webhook token."""
    return verify_token(given=header, expected=expected)


def meta_challenge(
    *, mode: str | None, token: str | None, challenge: str | None, expected_token: str | None
) -> str | None:
    """The body to answer Meta's subscription GET with (the raw challenge), or None to refuse
    (403). `expected_token` is HADAR_META_VERIFY_TOKEN; unset refuses every subscription."""
    if mode != "subscribe" or challenge is None:
        return None
    return challenge if verify_token(given=token, expected=expected_token) else None
