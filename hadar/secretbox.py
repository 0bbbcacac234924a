"""Secrets at rest: short text values (webhook signing secrets, provider credentials) sealed
with AES-256-GCM under a key derived from HADAR_SECRET_KEY.

A sealed value is text, `enc1:` + base64url(96-bit random nonce || ciphertext || tag), so it
fits a CharField and says which key version made it (a later `enc2:` can rotate the key while
`enc1:` values are still read). The caller's `context` (e.g. "webhook_endpoints.secret:whk_…")
is bound as associated data: a value copied to another row or column does not unseal.

Install the process-wide box once at bootstrap with `configure(secret)`, like
`hadar.pagination.configure`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "enc1:"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")  # strict: the decoder would skip other characters
# Fixed, public inputs to HKDF: they separate this key from every other use of the secret.
_SALT = b"hadar-secretbox"
_INFO = b"hadar secretbox enc1 aes-256-gcm"


class UnsealError(ValueError):
    """A sealed value could not be opened: not sealed, damaged, tampered with, sealed for
    another context, or sealed under another HADAR_SECRET_KEY."""


class SecretBox:
    """Seals and unseals under one key, derived from `secret` by HKDF-SHA256."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a SecretBox needs a non-empty secret")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
            secret.encode("utf-8")
        )
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, context: str) -> str:
        """`plaintext` encrypted and authenticated, bound to `context`."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return PREFIX + _encode(nonce + sealed)

    def unseal(self, sealed: str, *, context: str) -> str:
        """The plaintext `seal` was given for this `context`; UnsealError otherwise."""
        if not is_sealed(sealed):
            raise UnsealError(f"not a sealed value (expected the {PREFIX!r} prefix)")
        encoded = sealed[len(PREFIX) :]
        if not _BASE64URL.fullmatch(encoded):
            raise UnsealError("sealed value is not valid base64url")
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raise UnsealError("sealed value is not valid base64url") from None
        if _encode(raw) != encoded:  # unused low bits set: one value, one spelling
            raise UnsealError("sealed value is not valid base64url")
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise UnsealError("sealed value is truncated")
        nonce, body = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        try:
            plaintext = self._aead.decrypt(nonce, body, context.encode("utf-8"))
        except InvalidTag:
            raise UnsealError(
                "sealed value failed authentication: tampered with, sealed for another context,"
                " or under another HADAR_SECRET_KEY"
            ) from None
        return plaintext.decode("utf-8")


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def is_sealed(value: str) -> bool:
    """True when `value` is in the sealed text format (whether or not it will unseal)."""
    return value.startswith(PREFIX)


_box: SecretBox | None = None


def configure(secret: str) -> None:
    """Install the process-wide box (called once at bootstrap)."""
    global _box
    _box = SecretBox(secret)


def box() -> SecretBox:
    assert _box is not None, "hadar.secretbox.configure() was not called"
    return _box


def seal(plaintext: str, *, context: str) -> str:
    """`plaintext` sealed with the process-wide box, bound to `context`."""
    return box().seal(plaintext, context=context)


def unseal(sealed: str, *, context: str) -> str:
    """The plaintext of `sealed` for `context`, opened with the process-wide box."""
    return box().unseal(sealed, context=context)
