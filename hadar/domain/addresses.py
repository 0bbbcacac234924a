"""IP allow-lists of API keys: parsed and matched with the standard library's ipaddress."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

MAX_ENTRIES = 50


def normalise_allow_list(values: Iterable[str]) -> list[str]:
    """Each entry as a canonical network (`10.0.0.7` -> `10.0.0.7/32`, host bits cleared);
    ValueError naming the first entry that is no address or CIDR."""
    out: list[str] = []
    for value in values:
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValueError(f"has {value!r}, which is not an IPv4/IPv6 address or CIDR") from None
        if str(network) not in out:
            out.append(str(network))
    if len(out) > MAX_ENTRIES:
        raise ValueError(f"may hold at most {MAX_ENTRIES} entries")
    return out


def allowed(address: str, allow_list: Iterable[str]) -> bool:
    """True when `address` is inside one of the networks (an empty list allows any address).
    IPv4-mapped IPv6 peers (`::ffff:10.0.0.7`) are matched as the IPv4 address they carry."""
    networks = list(allow_list)
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(net) for net in networks)
