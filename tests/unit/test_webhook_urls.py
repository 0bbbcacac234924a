"""The webhook address check: every encoding of a non-public address is refused, real public
addresses are accepted, and refusals never name the address a host resolves to."""

from __future__ import annotations

import ipaddress

import pytest

from hadar.webhooks import urls

# Each of these reaches (or may be translated to) something that is not the public Internet.
REFUSED = [
    # IPv4: loopback, private, link-local and metadata, shared, reserved, special.
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.5",
    "172.16.0.1",
    "192.168.1.10",
    "169.254.169.254",
    "100.64.0.1",
    "100.100.100.200",
    "192.0.0.192",
    "0.0.0.0",
    "0.1.2.3",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6 proper: loopback, unspecified, link-local, unique-local, site-local, multicast,
    # documentation, discard.
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "feff:ffff::1",
    "ff02::1",
    "ff0e::1",
    "2001:db8::1",
    "100::1",
    # IPv4-mapped.
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::ffff:8.8.8.8",  # refused: only a dual-stack host's own v4 stack could reach it anyway
    # IPv4-compatible (deprecated): the host's stack may send it as IPv4.
    "::127.0.0.1",
    "::a9fe:a9fe",
    "::10.0.0.1",
    "::8.8.8.8",
    # IPv4-translated (SIIT).
    "::ffff:0:127.0.0.1",
    "::ffff:0:a9fe:a9fe",
    # NAT64, well-known prefix, carrying a private or metadata address.
    "64:ff9b::127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::10.0.0.1",
    "64:ff9b::c0a8:0101",
    # Local-use NAT64: the operator's gateway translates whatever it carries.
    "64:ff9b:1::a9fe:a9fe",
    "64:ff9b:1::8.8.8.8",
    "64:ff9b:1:ffff::1",
    # 6to4 carrying a private or metadata address.
    "2002:7f00:1::",
    "2002:a9fe:a9fe::1",
    "2002:0a00:0001::1",
    "2002:c0a8:0101:1::1",
    # Teredo: server or (obfuscated) client IPv4 non-public.
    "2001:0:a9fe:a9fe::",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # client ~0x80fffffe = 127.0.0.1
    "2001:0:7f00:1::1",
    "2001:0:0a00:1:0:0:f5ff:fffe",
]

ACCEPTED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "2a00:1450:4001:82b::200e",
    "64:ff9b::8.8.8.8",  # NAT64 of a public address: what an IPv6-only network resolves to
    "2002:0808:0808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_encodings_are_refused(address: str) -> None:
    assert not urls.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ACCEPTED)
def test_public_addresses_are_accepted(address: str) -> None:
    assert urls.is_public(ipaddress.ip_address(address))


def test_zone_index_does_not_hide_a_link_local_address() -> None:
    assert not urls.is_public(ipaddress.ip_address("fe80::1%eth0"))


@pytest.mark.parametrize("address", [a for a in REFUSED if ":" in a])
async def test_literal_ipv6_urls_are_refused(address: str) -> None:
    with pytest.raises(urls.UnsafeUrl, match="non-public"):
        await urls.resolve_target(
            f"https://[{address}]/hook", environment="live", allow_private=False
        )


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f000001", "017700000001", "127.1", "0177.0.0.1", "localhost"]
)
async def test_numeric_host_forms_resolve_and_are_refused(host: str) -> None:
    with pytest.raises(urls.UnsafeUrl, match="non-public"):
        await urls.resolve_target(f"https://{host}/hook", environment="live", allow_private=False)


@pytest.mark.parametrize("address", ["169.254.169.254", "10.1.2.3", "64:ff9b::a9fe:a9fe"])
async def test_refusal_does_not_tell_which_address_a_name_resolves_to(address: str) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", address]

    with pytest.raises(urls.UnsafeUrl) as caught:
        await urls.resolve_target(
            "https://hooks.example.com/x",
            environment="live",
            allow_private=False,
            resolver=resolver,
        )
    message = str(caught.value)
    assert "non-public" in message
    assert address not in message and "93.184.216.34" not in message


async def test_public_resolution_is_accepted_and_pinned() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["2606:4700:4700::1111"]

    target = await urls.resolve_target(
        "https://hooks.example.com/x", environment="live", allow_private=False, resolver=resolver
    )
    assert urls.pinned_url(target) == "https://[2606:4700:4700::1111]:443/x"


CONTROL = ["\r", "\n", "\t", "\x00", "\x1b", "\x7f", "\x85", "\x9b", " ", "\u00a0", "\u2028"]


@pytest.mark.parametrize("char", CONTROL)
@pytest.mark.parametrize("where", ["lead", "host", "path", "query", "tail"])
def test_control_characters_and_whitespace_are_refused(char: str, where: str) -> None:
    url = {
        "lead": f"{char}https://hooks.example.com/x",
        "host": f"https://hooks{char}.example.com/x",
        "path": f"https://hooks.example.com/x{char}y",
        "query": f"https://hooks.example.com/x?a={char}",
        "tail": f"https://hooks.example.com/x{char}",
    }[where]
    with pytest.raises(urls.UnsafeUrl, match="control characters"):
        urls.check_shape(url, environment="test")
