"""Who a per-address limit counts: one client per IPv4 address, and one per IPv6 /64.

An ISP hands a customer a whole IPv6 /64 (RFC 6177, RIPE-690), so counting each of its 2^64
addresses apart would let one client sign up or guess passwords without limit. Pure; no I/O.
"""

from __future__ import annotations

import ipaddress

IPV6_CLIENT_PREFIX = 64
"""The IPv6 prefix length one client is taken to hold."""


def limited_client(client_ip: str | None) -> str:
    """The text a per-address limit counts `client_ip` (text form, as the app read it) under: an IPv4
    address as it is, an IPv6 address as its /64 network (`2001:db8:1:2::/64`; an IPv4-mapped one as
    its IPv4 address), anything unreadable or missing as `unknown` (all such counted together)."""
    if not client_ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address)
