"""The client's network: an IPv4 client as its /24 whatever carries it, an IPv6 one as its /48, never who."""

from __future__ import annotations

import ipaddress
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shoplake.clickstream.client_ip import client_network
from shoplake.clickstream.transform import transform, truncate_ip
from tests.canonical_path import assert_same_answers, both_ways
from tests.cases import case
from tests.unit.test_clickstream_transform import ARRIVED, decoded, event, records


def test_ipv6_clients_are_kept_to_their_48() -> None:
    assert truncate_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348") == "2001:db8:85a3::/48"


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        (" 203.0.113.77 ", "203.0.113.0/24"),
        ("::ffff:203.0.113.77", "203.0.113.0/24"),  # how a dual-stack listener reports an IPv4 client
        ("::FFFF:CB00:714D", "203.0.113.0/24"),  # the same address, written in hex
        ("[::ffff:203.0.113.77]", "203.0.113.0/24"),
        ("::ffff:203.0.113.77%eth0", "203.0.113.0/24"),
        ("::203.0.113.77", "203.0.113.0/24"),  # IPv4-compatible (deprecated, RFC 4291 2.5.5.1)
        ("::cb00:714d", "203.0.113.0/24"),
        ("::ffff:0:203.0.113.77", "203.0.113.0/24"),  # SIIT's IPv4-translated (RFC 2765 2.1)
        ("::ffff:0:cb00:714d", "203.0.113.0/24"),
        ("64:ff9b::203.0.113.77", "203.0.113.0/24"),  # NAT64's well-known prefix
        ("2002:cb00:714d::1", "203.0.113.0/24"),  # 6to4: as a /48 it would be the whole IPv4 address
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.0/24"),  # Teredo: the client's own IPv4 address
        ("[2001:db8::1]", "2001:db8::/48"),
        ("fe80::1%eth0", "fe80::/48"),
        ("::1", None),  # loopback: no network a visitor is in, and ::/48 would say nothing
        ("::", None),
        ("::0.0.0.1", None),  # ::1 again: 0.0.0.0/8 is never a client, so not IPv4-compatible
        ("0:0:0:1::5", None),  # IETF-reserved ::/8
    ],
)
def test_a_client_is_stored_as_its_network_and_an_ipv4_client_as_ipv4_whatever_carries_it(
    address: str, network: str | None
) -> None:
    assert truncate_ip(address) == network


@given(st.integers(0, 2**80 - 1))
def test_no_address_with_its_upper_48_bits_zero_is_stored_as_a_48(value: int) -> None:
    # GIVEN any IPv6 address in ::/48 (mapped, compatible and translated IPv4 clients, loopback, reserved)
    address = str(ipaddress.IPv6Address(value))
    # WHEN reduced to its network
    network = client_network(address)
    # THEN it is the /24 of the IPv4 client it carries, or nothing: never ::/48, never the whole address
    assert network is None or (ipaddress.ip_network(network).version == 4 and network.endswith(".0/24"))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("203.0.113.77:443", "client_ip: '203.0.113.77:443' is not an IP address (a port is not part of it)"),
        ("[2001:db8::1]:443", "client_ip: '[2001:db8::1]:443' is not an IP address (a port is not part of it)"),
        ("010.0.0.1", "client_ip: '010.0.0.1' is not an IP address"),  # octal to inet_aton, decimal to others
        ("\uff12\uff10\uff13.0.113.77", "is not an IP address"),  # full-width digits
        ("203.0.113", "client_ip: '203.0.113' is not an IP address"),
        ("203.0.113.77.", "client_ip: '203.0.113.77.' is not an IP address"),  # a trailing dot
        ("::ffff:203.0.113.256", "is not an IP address"),
        ("203.0.113.77, 10.0.0.1", "is not an IP address"),  # a whole X-Forwarded-For
    ],
)
def test_text_that_is_not_one_address_fails_naming_client_ip(address: str, reason: str) -> None:
    (failure,) = transform(records(event(client_ip=address)), now=ARRIVED).failures
    assert reason in failure[1]


def test_ipv4_clients_behind_a_dual_stack_listener_are_stored_as_ipv4_networks() -> None:
    # GIVEN a Firehose batch whose first two clients arrive as IPv4-mapped IPv6 addresses (tests/cases)
    request = json.loads(case("clickstream/firehose_ipv4_mapped_ipv6_client_ip.json").read_text(encoding="utf-8"))
    # WHEN transformed
    result = transform(request["records"], now=ARRIVED)
    # THEN each is stored as the IPv4 network it is, as the plain IPv4 client is
    assert [r["result"] for r in result.records] == ["Ok"] * 3
    assert [decoded(r)["client_ip_prefix"] for r in result.records] == [
        "203.0.113.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
    ]


def test_addresses_near_the_plain_ipv4_form_get_one_answer_from_both_paths() -> None:
    # GIVEN a batch of clients at "203.0.113.77." (once Ok natively only), ::203.0.113.77,
    # ::ffff:0:203.0.113.77, ::cb00:714d (once all stored as ::/48) and ::1 (tests/cases)
    request = json.loads(case("clickstream/firehose_client_ip_near_ipv4_forms.json").read_text(encoding="utf-8"))
    # WHEN transformed, by the canonical path first and by the general path alone
    ours, general = both_ways(request["records"])
    # THEN both answer alike: the trailing dot fails naming client_ip, each IPv4 client is its /24,
    # and the loopback address is stored with no network
    assert_same_answers(ours, general)
    assert [r["result"] for r in ours.records] == ["ProcessingFailed", "Ok", "Ok", "Ok", "Ok"]
    assert ours.failures == [(request["records"][0]["recordId"], "client_ip: '203.0.113.77.' is not an IP address")]
    assert [decoded(r).get("client_ip_prefix") for r in ours.records[1:]] == ["203.0.113.0/24"] * 3 + [None]


def _by_ipaddress_alone(text: str) -> str | ValueError | None:
    """The network as ipaddress alone reads it: the answer the plain-IPv4 shortcut must never change."""
    given = text.strip()
    literal = given[1:-1] if given.startswith("[") and given.endswith("]") else given
    try:
        address = ipaddress.ip_address(literal)
    except ValueError as error:
        return error
    if isinstance(address, ipaddress.IPv4Address):
        return str(ipaddress.IPv4Network((int(address), 24), strict=False))
    return client_network(text)  # IPv6: the shortcut never applies


@given(
    st.one_of(
        st.ip_addresses(v=4).map(str),
        st.from_regex(r"\A[0-9.]{1,18}\Z"),
        st.text(alphabet="0123456789.²١٣０ \n[]:", max_size=18),
    )
)
def test_the_plain_ipv4_shortcut_answers_as_ipaddress_does(text: str) -> None:
    # GIVEN any text near a dotted-decimal IPv4 address (other scripts' digits, leading zeros, spaces)
    expected = _by_ipaddress_alone(text)
    # WHEN the client's network is worked out THEN it is ipaddress's answer, or refused as ipaddress refuses it
    if isinstance(expected, ValueError):
        with pytest.raises(ValueError, match="is not an IP address"):
            client_network(text)
    else:
        assert client_network(text) == expected
