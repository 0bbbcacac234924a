"""Integration helpers: how secrets are shown back, inbound route keys, webhook URLs and tokens."""

from __future__ import annotations

from hadar.domain.integrations import (
    PROVIDERS,
    PUBLIC_FIELDS,
    SECRET_FIELDS,
    last4,
    new_webhook_token,
    route_key,
    ultramsg_instance_digits,
    webhook_url,
)


def test_last4_shows_only_the_tail_of_long_secrets() -> None:
    assert last4("sk_live_51Hxxxxxxxxxxxx4242") == "…4242"
    assert last4("short") == "…"
    assert last4("elevenchars") == "…"


def test_ultramsg_instance_digits() -> None:
    assert ultramsg_instance_digits("instance1150") == "1150"
    assert ultramsg_instance_digits("1150") == "1150"
    assert ultramsg_instance_digits(" instance42 ") == "42"
    assert ultramsg_instance_digits("instance") is None


def test_route_keys() -> None:
    assert route_key("meta", {"phone_number_id": "106540352242922"}) == "106540352242922"
    assert route_key("ultramsg", {"instance_id": "instance1150"}) == "1150"
    assert route_key("vapi", {"phone_number_id": "pn"}) is None
    assert route_key("stripe", {}) is None


def test_webhook_urls() -> None:
    base = "https://hadar.example/"
    assert webhook_url(public_url=base, provider="meta", integration_id="int_1", token=None) == (
        "https://hadar.example/api/v1/whatsapp/inbound/meta"
    )
    assert webhook_url(public_url=base, provider="ultramsg", integration_id="int_1", token="t") == (
        "https://hadar.example/api/v1/whatsapp/inbound/ultramsg/int_1?token=t"
    )
    assert webhook_url(public_url=base, provider="vapi", integration_id="int_1", token="t") == (
        "https://hadar.example/api/v1/calls/inbound/vapi/int_1"
    )
    assert webhook_url(public_url=base, provider="stripe", integration_id="int_1", token=None) == (
        "https://hadar.example/api/v1/invoices/inbound/stripe/int_1"
    )


def test_webhook_tokens_are_long_random_and_url_safe() -> None:
    tokens = {new_webhook_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) >= 43 and t.replace("-", "").replace("_", "").isalnum() for t in tokens)


def test_every_provider_has_its_fields() -> None:
    for providers in PROVIDERS.values():
        for provider in providers:
            assert SECRET_FIELDS[provider]
            assert provider in PUBLIC_FIELDS
