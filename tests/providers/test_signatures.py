"""Inbound authentication: Meta's X-Hub-Signature-256, Stripe-Signature, Vapi's X-Vapi-Secret,
checked against headers signed the way each provider signs (and by the official stripe library)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
import stripe

from hadar.providers.inbound.meta import parse_webhook
from hadar.providers.signatures import (
    meta_challenge,
    verify_meta,
    verify_stripe,
    verify_token,
    verify_vapi_secret,
)
from tests.fakes import FakeMeta, FakeStripe, FakeVapi
from tests.providers.conftest import Frozen, fixture_bytes

ARABIC = '{"text":{"body":"مرحبا 👋 @Sara äöå"}}'.encode()


# --- Meta -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [fixture_bytes("meta_inbound_text"), ARABIC, b""])
def test_meta_accepts_its_own_signature_over_the_exact_bytes(body: bytes) -> None:
    fake = FakeMeta()
    header = fake.sign(body)["X-Hub-Signature-256"]
    assert verify_meta(raw_body=body, header=header, app_secret=fake.app_secret)
    assert verify_meta(
        raw_body=body,
        header=header.upper().replace("SHA256=", "sha256="),
        app_secret=fake.app_secret,
    )


def test_meta_refuses_forged_missing_sha1_and_reserialised() -> None:
    fake = FakeMeta()
    body = ARABIC
    good = fake.sign(body)["X-Hub-Signature-256"]
    sha1 = "sha1=" + hmac.new(fake.app_secret.encode(), body, hashlib.sha1).hexdigest()
    other_secret = "sha256=" + hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
    for header in (
        None,
        "",
        "sha256=",
        sha1,
        other_secret,
        good[:-1] + "0",
        good.removeprefix("sha256="),
    ):
        assert not verify_meta(raw_body=body, header=header, app_secret=fake.app_secret), header
    # The same JSON re-serialised with escapes is different bytes: refused.
    escaped = body.decode().encode("ascii", "backslashreplace")
    assert not verify_meta(raw_body=escaped, header=good, app_secret=fake.app_secret)
    assert not verify_meta(raw_body=body, header=good, app_secret=None)
    assert not verify_meta(raw_body=body, header=good, app_secret="")


# --- Stripe ---------------------------------------------------------------------------------


def test_stripe_accepts_the_fakes_and_the_official_librarys_headers(frozen: Frozen) -> None:
    fake = FakeStripe()
    body = fixture_bytes("stripe_payment_intent_succeeded")
    header = fake.sign(body)
    assert verify_stripe(raw_body=body, header=header, secret=fake.webhook_secret)
    # The official library accepts what the fake signs...
    stamp = int(frozen.at.timestamp())
    assert stripe.WebhookSignature.verify_header(body, header, fake.webhook_secret, tolerance=None)
    # ...and we accept what the official library signs.
    official = stripe.WebhookSignature.generate_signature_header(
        body.decode(), fake.webhook_secret, timestamp=stamp
    )
    assert verify_stripe(raw_body=body, header=official, secret=fake.webhook_secret)


def test_stripe_rotation_any_v1_may_match_and_v0_is_ignored(frozen: Frozen) -> None:
    fake = FakeStripe()
    body = ARABIC
    rotated = fake.sign(body, signing_secrets=["whsec_old", "whsec_new"])
    assert rotated.count("v1=") == 2
    assert verify_stripe(raw_body=body, header=rotated, secret="whsec_old")
    assert verify_stripe(raw_body=body, header=rotated, secret="whsec_new")
    assert not verify_stripe(raw_body=body, header=rotated, secret="whsec_other")
    stamp, v1 = fake.sign(body).split(",")
    v0 = "v0=" + v1.removeprefix("v1=")
    assert verify_stripe(
        raw_body=body, header=f"{stamp},v0=abc,{v1},x9=zz", secret=fake.webhook_secret
    )
    assert not verify_stripe(raw_body=body, header=f"{stamp},{v0}", secret=fake.webhook_secret)


def test_stripe_refuses_stale_future_forged_and_malformed(frozen: Frozen) -> None:
    fake = FakeStripe()
    body = ARABIC
    now = int(frozen.at.timestamp())
    secret = fake.webhook_secret
    assert verify_stripe(raw_body=body, header=fake.sign(body, timestamp=now - 300), secret=secret)
    assert not verify_stripe(
        raw_body=body, header=fake.sign(body, timestamp=now - 301), secret=secret
    )
    assert not verify_stripe(
        raw_body=body, header=fake.sign(body, timestamp=now + 301), secret=secret
    )
    good = fake.sign(body)
    stamp = good.split(",")[0]
    for header in (
        None,
        "",
        stamp,
        good.replace("v1=", "v2="),
        good[:-2] + "00",
        f"{stamp},{good.split(',')[1]},{stamp}",  # two timestamps
        "t=١٧٦٠٠٠٠٠٠٠," + good.split(",")[1],  # non-ASCII digits
    ):
        assert not verify_stripe(raw_body=body, header=header, secret=secret), header
    assert not verify_stripe(raw_body=body + b" ", header=good, secret=secret)
    assert not verify_stripe(raw_body=body, header=good, secret=None)


def test_stripe_time_comes_from_the_injectable_clock(frozen: Frozen) -> None:
    fake = FakeStripe()
    header = fake.sign(ARABIC)
    frozen.advance(300)
    assert verify_stripe(raw_body=ARABIC, header=header, secret=fake.webhook_secret)
    frozen.advance(1)
    assert not verify_stripe(raw_body=ARABIC, header=header, secret=fake.webhook_secret)


# --- Vapi -----------------------------------------------------------------------------------


def test_vapi_secret_must_equal_the_integrations_token() -> None:
    fake = FakeVapi()
    header = fake.headers()["X-Vapi-Secret"]
    assert verify_vapi_secret(header=header, expected=fake.secret)
    for wrong in (None, "", header + "x", header[:-1], header.upper()):
        assert not verify_vapi_secret(header=wrong, expected=fake.secret), wrong
    assert not verify_vapi_secret(header="", expected="")
    assert not verify_vapi_secret(header="anything", expected=None)


def test_ultramsg_query_token_uses_the_same_constant_time_compare() -> None:
    assert verify_token(given="tok_123", expected="tok_123")
    assert not verify_token(given="tok_124", expected="tok_123")
    assert not verify_token(given=None, expected="tok_123")
    assert not verify_token(given="", expected="")


def test_meta_subscription_challenge() -> None:
    ok = {"mode": "subscribe", "token": "meatyhamhock", "challenge": "1158201444"}
    assert meta_challenge(**ok, expected_token="meatyhamhock") == "1158201444"
    assert meta_challenge(**ok, expected_token="other") is None
    assert meta_challenge(**ok, expected_token=None) is None
    assert meta_challenge(**{**ok, "mode": "unsubscribe"}, expected_token="meatyhamhock") is None
    assert meta_challenge(**{**ok, "challenge": None}, expected_token="meatyhamhock") is None


def test_a_signed_meta_webhook_verifies_then_parses(frozen: Frozen) -> None:
    fake = FakeMeta()
    body = fake.status_webhook("wamid.abc", "failed", error_code=131047)
    headers = fake.sign(body)
    assert verify_meta(
        raw_body=body, header=headers["X-Hub-Signature-256"], app_secret=fake.app_secret
    )
    (status,) = parse_webhook(body).statuses
    assert (status.wamid, status.status, status.errors[0].code) == ("wamid.abc", "failed", 131047)
