"""Where a visitor is, never who: a client's IP address reduced to its network.

An IPv4 client is stored as its /24, an IPv6 client as its /48. An IPv6 address that
carries an IPv4 one stands for that IPv4 client and is stored as its /24:

- IPv4-mapped, ``::ffff:0:0/96`` (RFC 4291 section 2.5.5.2): how a dual-stack listener
  reports an IPv4 peer, whether written ``::ffff:203.0.113.77`` or ``::ffff:cb00:714d``;
- IPv4-compatible, ``::/96`` (RFC 4291 section 2.5.5.1; deprecated, still written by some
  stacks and proxies): ``::203.0.113.77``, when what it carries is a unicast address
  outside ``0.0.0.0/8`` (so ``::`` and ``::1`` are not IPv4 clients);
- SIIT's IPv4-translated, ``::ffff:0:0:0/96`` (RFC 2765 section 2.1; RFC 6145 and then
  RFC 7915 replaced it with RFC 6052's addresses, but stacks still write it):
  ``::ffff:0:203.0.113.77``;
- NAT64's well-known prefix, ``64:ff9b::/96`` (RFC 6052 section 2.1);
- 6to4, ``2002::/16`` (RFC 3056): its /48 is the whole IPv4 address, so storing it would
  keep exactly who the visitor is;
- Teredo, ``2001::/32`` (RFC 4380): the client's own public IPv4 address, de-obfuscated.

No IPv6 address whose upper 48 bits are all zero is ever stored as a /48: there, ``::/48``
would say nothing. Those that carry no IPv4 client (the unspecified address ``::``, the
loopback ``::1`` and the rest of the IETF-reserved ``::/8`` in ``::/48``, RFC 4291 section
2.4 and IANA's IPv6 address space registry) name no network a visitor is in, and no
network is stored for them, as for a record without a client address.

The text is read by the standard library's `ipaddress`: dotted-decimal IPv4 (no leading
zeros: ``010`` means 8 to inet_aton and 10 to others, so it is refused) or any RFC 4291
IPv6 form. Around it, brackets (RFC 3986's IP-literal, ``[2001:db8::1]``) and an IPv6 zone
(RFC 4007, ``fe80::1%eth0``; local to the sender, so dropped) are accepted. A port is not
part of an address and is refused, saying so.
"""

from __future__ import annotations

import ipaddress
import re

IPV4_PREFIX = 24
IPV6_PREFIX = 48
# What follows an IPv4 address's first three parts in its network (the stored /24).
IPV4_NETWORK_SUFFIX = f".0/{IPV4_PREFIX}"

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT's IPv4-translated addresses (RFC 2765)
_LOW_32 = 0xFFFF_FFFF
_THIS_NETWORK = 1 << 24  # 0.0.0.0/8 (RFC 1122 3.2.1.3): never a client, so ::/104 is not IPv4-compatible
_UPPER_48 = IPV6_PREFIX  # the part of an IPv6 address its stored /48 keeps
_WITH_PORT = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[^\]]*\]):\d{1,5}$")
_SHOWN = 45  # the longest textual IPv6 address with an embedded IPv4 one


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, translated, NAT64, 6to4, Teredo), or None."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    value = int(address)
    if value >> 32 == 0:  # ::/96, IPv4-compatible
        return ipaddress.IPv4Address(value) if value >= _THIS_NETWORK else None
    if address in _TRANSLATED or address in _NAT64:
        return ipaddress.IPv4Address(value & _LOW_32)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def client_network(text: str) -> str | None:
    """The network stored for a client address: ``'203.0.113.0/24'``, ``'2001:db8:85a3::/48'``, or None.

    None for an IPv6 address in ``::/48`` that carries no IPv4 client (``::``, ``::1``, the rest
    of that reserved block): it names no network a visitor is in. Raises ValueError, its message
    quoting `text` (cut to 45 characters) and saying why it is not an address.
    """
    given = text.strip()
    literal = given[1:-1] if given.startswith("[") and given.endswith("]") else given
    try:
        address = ipaddress.ip_address(literal)
    except ValueError:
        hint = " (a port is not part of it)" if _WITH_PORT.match(given) else ""
        raise ValueError(f"{text[:_SHOWN]!r} is not an IP address{hint}") from None
    if isinstance(address, ipaddress.IPv6Address):
        carried = embedded_ipv4(address)
        if carried is None:
            if int(address) >> (128 - _UPPER_48) == 0:
                return None  # its /48 would be ::/48, which says nothing
            # int() drops the zone: an IPv6Network cannot carry one, and the network is the same.
            return str(ipaddress.IPv6Network((int(address), IPV6_PREFIX), strict=False))
        address = carried
    return str(ipaddress.IPv4Network((int(address), IPV4_PREFIX), strict=False))
