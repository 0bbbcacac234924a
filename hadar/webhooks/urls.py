"""Where a webhook may be sent: the scheme rule and the address check against SSRF.

Live endpoints must be https; test endpoints may also be http. Every host must resolve only to
public addresses (no loopback, private, link-local, cloud metadata, multicast or reserved
ranges) unless HADAR_ALLOW_PRIVATE_WEBHOOK_URLS=1. The check runs at creation and again at each
delivery, and the delivery connects to the very address it checked (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Metadata services that some clouds place on otherwise "global" addresses.
_METADATA = {
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud
}
# IPv6 ranges refused outright: each either carries an IPv4 address a gateway or the host's own
# stack may translate to (so a private IPv4 hides behind a "global" IPv6), or was withdrawn.
_REFUSED_V6 = tuple(
    ipaddress.ip_network(net)
    for net in (
        "::/96",  # IPv4-compatible ::a.b.c.d (deprecated, RFC 4291), with :: and ::1
        "::ffff:0:0/96",  # IPv4-mapped: only the host's own IPv4 stack could connect to it
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT, RFC 2765)
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215): translated by the operator's own gateway
        "fec0::/10",  # site-local (deprecated, RFC 3879); still routed inside some networks
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052)
# C0 controls, DEL, C1 controls: urlsplit silently drops some (tab, CR, LF), which would let the
# stored URL differ from the one checked and sent.
_CONTROL = re.compile("[\x00-\x20\x7f-\x9f]")


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks; the message says why."""


@dataclass(frozen=True)
class Target:
    url: SplitResult
    host: str
    port: int
    addresses: tuple[str, ...]  # checked addresses to connect to (empty: connect by name)


def check_shape(url: str, *, environment: str) -> SplitResult:
    """The parsed URL when its scheme, host and form are acceptable; UnsafeUrl otherwise."""
    if _CONTROL.search(url) or any(char.isspace() for char in url):
        raise UnsafeUrl("must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("must be a valid URL") from None
    allowed = ("https",) if environment == "live" else ("https", "http")
    if parts.scheme not in allowed:
        raise UnsafeUrl("must use https" if environment == "live" else "must use http or https")
    if not parts.hostname:
        raise UnsafeUrl("must name a host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("must not contain credentials")
    if parts.fragment:
        raise UnsafeUrl("must not contain a fragment")
    if port == 0:
        raise UnsafeUrl("must not use port 0")
    return parts


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo server and client,
    NAT64), which a translator or tunnel may end up connecting to."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address that is no known metadata service, and
    (IPv6) neither in a refused range nor carrying a non-public IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(int(address))  # the zone (%eth0) says nothing here
        if address.is_site_local or any(address in net for net in _REFUSED_V6):
            return False
        if not all(is_public(inner) for inner in embedded_ipv4(address)):
            return False
    return address.is_global and not address.is_multicast and address not in _METADATA


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, via the system resolver."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_target(
    url: str,
    *,
    environment: str,
    allow_private: bool,
    resolver: Resolver = system_resolver,
) -> Target:
    """Check `url` (shape, then every address it resolves to); UnsafeUrl when it may not be used."""
    parts = check_shape(url, environment=environment)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if allow_private:
        return Target(parts, host, port, ())
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = await resolver(host, port)
        except (OSError, UnicodeError):
            raise UnsafeUrl(f"host {host} does not resolve") from None
    if not addresses:
        raise UnsafeUrl(f"host {host} does not resolve")
    for address in addresses:
        if not is_public(ipaddress.ip_address(address.split("%", 1)[0])):
            # The address itself stays out of the message: it would map the internal network.
            raise UnsafeUrl(f"host {host} resolves to a non-public address")
    return Target(parts, host, port, tuple(addresses))


def pinned_url(target: Target) -> str:
    """The target URL with its host replaced by the first checked address (Host and SNI are
    sent separately), so the connection goes where the check looked."""
    if not target.addresses:
        return target.url.geturl()
    address = target.addresses[0]
    shown = f"[{address}]" if ":" in address else address
    netloc = f"{shown}:{target.port}"
    return target.url._replace(netloc=netloc).geturl()
