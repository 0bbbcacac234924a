"""API key tokens: `hdr_{live|test}_` + 32 base62 characters whose last 6 are a checksum.

The checksum (CRC-32 of everything before it, prefix included) lets a mistyped, invented or
re-prefixed token be refused as malformed without touching the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import zlib

from hadar.errors import Unauthorized

ALPHABET = string.digits + string.ascii_letters
BODY_LEN = 26
CHECK_LEN = 6
PREFIXES = {"live": "hdr_live_", "test": "hdr_test_"}


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def _checksum(head: str) -> str:
    return _base62(zlib.crc32(head.encode()), CHECK_LEN)


def generate(environment: str) -> str:
    """A new random token for `environment` (live or test)."""
    head = PREFIXES[environment] + "".join(secrets.choice(ALPHABET) for _ in range(BODY_LEN))
    return head + _checksum(head)


def environment_of(token: str) -> str | None:
    """The environment of a well-formed token, or None when it is malformed."""
    for environment, prefix in PREFIXES.items():
        if token.startswith(prefix):
            rest = token[len(prefix) :]
            if len(rest) != BODY_LEN + CHECK_LEN or any(c not in ALPHABET for c in rest):
                return None
            head, check = token[:-CHECK_LEN], token[-CHECK_LEN:]
            return environment if hmac.compare_digest(check, _checksum(head)) else None
    return None


def hash_token(token: str, secret: str) -> str:
    """The keyed hash stored in place of the token."""
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def parse_bearer(header: str | None) -> str:
    """The well-formed token of an `Authorization: Bearer` header; Unauthorized when the header
    is missing or malformed (checked without any database access)."""
    if not header:
        raise Unauthorized("missing Authorization header; send 'Bearer hdr_live_…'")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Authorization must be 'Bearer <api key>'")
    if environment_of(token) is None:
        raise Unauthorized("the API key is malformed")
    return token
