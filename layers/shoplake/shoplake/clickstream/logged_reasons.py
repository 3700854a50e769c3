"""A failed record's reason as the transform's log may hold it: no whole client address, anywhere in it.

A reason names the field and may quote what the record held (`rules.ContractError`), and a record may
put an address in any field, or in a key's name. The log keeps where a visitor is, never who, as the
lake does (`client_ip`): every IPv4 address in the text becomes its /24, every IPv6 address its /48
(or the /24 of the IPv4 client it carries), and one naming no network (``::1``) becomes
``[address]``. Found by shape, not by field: dotted quads anywhere (even inside longer runs of
digits), and runs of hexadecimal digits, colons and dots with at least two colons that contain an
address's shape (RFC 4291's textual forms), read by the standard library's `ipaddress`.
"""

from __future__ import annotations

import ipaddress
import re

from shoplake.clickstream.client_ip import IPV4_NETWORK_SUFFIX, client_network

NO_NETWORK = "[address]"
# A dotted quad, unless it is already a network this module wrote (a mapped address's /24).
_IPV4 = re.compile(r"(\d{1,3}\.\d{1,3}\.\d{1,3})\.(?!0/24(?!\d))\d{1,3}", re.ASCII)
_IPV6_RUN = re.compile(r"[0-9A-Fa-f.]*(?::[0-9A-Fa-f.]*){2,}", re.ASCII)
# Every textual IPv6 address has "::" or at least six colons (RFC 4291 section 2.2: eight groups, or
# six and a dotted quad), so a run with neither holds none: "10:11:12", a time of day, stays.
_FEWEST_COLONS = 6


def _cut_ipv6(match: re.Match[str]) -> str:
    run = match.group(0)
    if "::" not in run and run.count(":") < _FEWEST_COLONS:
        return run
    for core in (run, run.rstrip(":.")):
        try:
            ipaddress.IPv6Address(core)
        except ValueError:
            continue
        return (client_network(core) or NO_NETWORK) + run[len(core) :]
    return NO_NETWORK  # an address glued to other digits, or damaged: none of it is kept


def cut_addresses(text: str) -> str:
    """`text` with every IP address in it cut to its network: ``'ip 198.51.100.77'`` -> ``'ip 198.51.100.0/24'``.

    IPv6 first (a mapped address holds a dotted quad), then every dotted quad, valid or not. A run shaped
    like an IPv6 address that is not one exactly (hexadecimal digits glued to it) becomes ``[address]``
    whole, so no part of an address is left beside its network. Linear in the text.
    """
    text = _IPV6_RUN.sub(_cut_ipv6, text)
    return _IPV4.sub(lambda m: m.group(1) + IPV4_NETWORK_SUFFIX, text)


def loggable(reason: str) -> dict[str, str]:
    """`{"field", "reason"}` for the log: the field the reason names (text before its first colon) and the
    reason itself, both with every address cut (`cut_addresses`). The field is the reason's code, as
    `BatchResult.counts` keys it.
    """
    safe = cut_addresses(reason)
    return {"field": cut_addresses(reason.split(":", 1)[0]), "reason": safe}
