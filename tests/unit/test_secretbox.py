"""Sealed secrets: AES-GCM under a key derived from HADAR_SECRET_KEY, bound to a context, in a
versioned text format; anything damaged, moved or sealed under another key refuses to open."""

from __future__ import annotations

import base64

import pytest

from hadar.secretbox import PREFIX, SecretBox, UnsealError, is_sealed

BOX = SecretBox("unit-test-secret-key")
CONTEXT = "webhook_endpoints.secret:whk_01HZX"
SECRET = "whsec_0123456789abcdefghijklmnopqrstuvwxyzABCDEF"


def test_round_trip_in_the_versioned_text_format() -> None:
    sealed = BOX.seal(SECRET, context=CONTEXT)
    assert sealed.startswith(PREFIX) and is_sealed(sealed)
    assert SECRET not in sealed
    encoded = sealed[len(PREFIX) :]
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    assert len(raw) == 12 + len(SECRET) + 16  # nonce, ciphertext, tag
    assert len(sealed) <= 255  # fits the widened columns
    assert BOX.unseal(sealed, context=CONTEXT) == SECRET


def test_each_seal_uses_a_fresh_nonce() -> None:
    assert BOX.seal(SECRET, context=CONTEXT) != BOX.seal(SECRET, context=CONTEXT)


def test_unicode_and_empty_values_round_trip() -> None:
    for value in ("", "كلمة سر", "x" * 500):
        assert BOX.unseal(BOX.seal(value, context=CONTEXT), context=CONTEXT) == value


def test_the_same_secret_key_opens_it_in_another_process() -> None:
    sealed = BOX.seal(SECRET, context=CONTEXT)
    assert SecretBox("unit-test-secret-key").unseal(sealed, context=CONTEXT) == SECRET


def test_another_context_does_not_open_it() -> None:
    sealed = BOX.seal(SECRET, context=CONTEXT)
    for other in ("webhook_endpoints.previous_secret:whk_01HZX", "webhook_endpoints.secret:whk_2"):
        with pytest.raises(UnsealError, match="another context"):
            BOX.unseal(sealed, context=other)


def test_another_secret_key_does_not_open_it() -> None:
    sealed = BOX.seal(SECRET, context=CONTEXT)
    with pytest.raises(UnsealError, match="HADAR_SECRET_KEY"):
        SecretBox("another-secret-key").unseal(sealed, context=CONTEXT)


def test_every_tampered_character_is_detected() -> None:
    sealed = BOX.seal(SECRET, context=CONTEXT)
    for index in range(len(PREFIX), len(sealed)):
        swapped = "A" if sealed[index] != "A" else "B"
        tampered = sealed[:index] + swapped + sealed[index + 1 :]
        with pytest.raises(UnsealError):
            BOX.unseal(tampered, context=CONTEXT)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (SECRET, "not a sealed value"),
        ("", "not a sealed value"),
        ("enc2:AAAA", "not a sealed value"),
        (PREFIX + "AAAA", "truncated"),
        (PREFIX + "not base64!!", "base64url"),
        (PREFIX + "A" * 40 + "=", "base64url"),
        (PREFIX + "A", "base64url"),
    ],
)
def test_malformed_values_fail_with_a_clear_error(value: str, message: str) -> None:
    with pytest.raises(UnsealError, match=message):
        BOX.unseal(value, context=CONTEXT)


def test_an_empty_secret_key_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        SecretBox("")
