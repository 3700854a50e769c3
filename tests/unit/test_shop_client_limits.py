"""Who a per-address limit counts (shop.app.client_limits): an IPv6 client is its /64."""

from __future__ import annotations

import pytest

from shop.app.client_limits import limited_client


@pytest.mark.parametrize(
    ("client_ip", "counted_as"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("", "unknown"),
        (None, "unknown"),
        ("not an address", "unknown"),
    ],
)
def test_a_client_is_counted_by_its_ipv4_address_or_its_ipv6_64(client_ip: str | None, counted_as: str) -> None:
    # GIVEN an address as the app read it WHEN a limit counts it THEN it counts the client that holds it
    assert limited_client(client_ip) == counted_as
