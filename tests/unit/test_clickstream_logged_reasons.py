"""The firehose transform's logs hold record ids and contract reasons, never a whole client address.

What template.yaml's checkov skip for the transform's log group says (CKV_AWS_158): a refused record's
reason may quote what it held, and a client address may be in any field, or be a key's name; the log
line and the metric dimensions (Powertools writes both to stdout) keep its network at most.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import uuid
from types import ModuleType
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shoplake.clickstream.client_ip import client_network
from shoplake.clickstream.logged_reasons import NO_NETWORK, cut_addresses, loggable
from tests.conftest import function_app, lambda_context, our_event

IPV4 = "198.51.100.77"
IPV6 = "2001:db8:cafe:1::77"


def whole_forms(address: str) -> set[str]:
    """The ways an address can be written that a log must not hold: as given, compressed, exploded."""
    parsed = ipaddress.ip_address(address)
    return {address, str(parsed), parsed.exploded}


def assert_no_whole_address(text: str, *addresses: str) -> None:
    for address in addresses:
        for form in whole_forms(address):
            assert form not in text, f"{form} in {text!r}"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (f"client_ip: '{IPV4}:8080' is not an IP address", "client_ip: '198.51.100.0/24:8080' is not an IP address"),
        (f"event_type: '{IPV6}' is not one of page_view", "event_type: '2001:db8:cafe::/48' is not one of page_view"),
        (f"{IPV6}: a lone UTF-16 surrogate escape", "2001:db8:cafe::/48: a lone UTF-16 surrogate escape"),
        (f"page: ::ffff:{IPV4} here", "page: 198.51.100.0/24 here"),
        ("client_ip: '[fe80::1%eth0]:80'", "client_ip: '[fe80::/48%eth0]:80'"),
        ("client_ip: '::1' names no network", f"client_ip: '{NO_NETWORK}' names no network"),
        ("event_time: 2026-12-01T10:11:12Z is outside the accepted window", None),  # a time of day stays
    ],
)
def test_a_reason_keeps_the_network_of_every_address_it_quotes(reason: str, expected: str | None) -> None:
    assert cut_addresses(reason) == (expected or reason)


def test_an_address_glued_to_other_digits_is_cut_too() -> None:
    # GIVEN a record that hides an address among hexadecimal digits or longer runs of digits
    text = cut_addresses(f"session_id: 'abc{IPV6}' and '1{IPV4}9'")
    # THEN none of either address is left
    assert_no_whole_address(text, IPV4, IPV6)
    assert NO_NETWORK in text


def test_the_logged_field_is_cut_as_well() -> None:
    assert loggable(f"{IPV4}: a lone UTF-16 surrogate escape, which is no character") == {
        "field": "198.51.100.0/24",
        "reason": "198.51.100.0/24: a lone UTF-16 surrogate escape, which is no character",
    }


_v4 = st.ip_addresses(v=4).map(str)
_v6 = st.ip_addresses(v=6).map(lambda a: st.sampled_from([str(a), a.exploded]))
_around = st.text(alphabet="abcdef0123456789:. '\"xyz/[]%-", max_size=12)


@given(before=_around, after=_around, address=st.one_of(_v4, _v6.flatmap(lambda s: s)))
def test_no_whole_address_survives_whatever_surrounds_it(before: str, after: str, address: str) -> None:
    # GIVEN any client address (not "::" or "::1", which name no network and are inside any IPv6 text),
    # written any RFC 4291 way, amid any text a record could hold (which may make it part of another)
    assume(client_network(address) is not None and not _is_its_own_network(address))
    text = cut_addresses(before + address + after)
    # THEN the address as written is gone from what the log gets, but inside a network it was cut to
    # ("10.0.0.0" is in "10.0.0.0/24", "2002::" in "0:2002::/48", and say no more than them)
    assert address not in _without_networks(text)


def _is_its_own_network(address: str) -> bool:
    # A network's first address ("10.0.0.0", "64:ff9b:1::") says no more than its network does.
    network = client_network(address)
    return network is not None and ipaddress.ip_network(network).network_address == ipaddress.ip_address(address)


_NETWORK = re.compile(r"[0-9A-Fa-f:.]+/(?:24|48)")


def _without_networks(text: str) -> str:
    """`text` with every network (no host bits set: what `cut_addresses` writes) blanked out."""

    def blank(match: re.Match[str]) -> str:
        try:
            ipaddress.ip_network(match.group(0))  # strict: an address with a prefix length is no network
        except ValueError:
            return match.group(0)
        return " "

    return _NETWORK.sub(blank, text)


# ---------------------------------------------------------------- the function's log and metrics


def _transform_app(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # A service name of its own: Powertools' Logger is the Python logger of that name, and a logger another test
    # configured first keeps the stdout of that test, so this test's capture would see nothing of it.
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"shoplake-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "shoplake")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here, and no sockets in unit tests
    module = function_app("firehose_transform")
    return module


def _record(sample: dict[str, Any], record_id: str, payload: bytes) -> dict[str, Any]:
    return {**sample, "recordId": record_id, "data": base64.b64encode(payload).decode()}


def _event_with_addresses_everywhere() -> dict[str, Any]:
    event = our_event("firehose_transform/kinesis_source_batch.json")
    sample = event["records"][0]
    good = json.loads(base64.b64decode(sample["data"]))
    bad = [
        {**good, "client_ip": f"{IPV4}:8080"},  # a port: refused, the reason quoting the address
        {**good, "client_ip": f"[{IPV6}]:443"},
        {**good, "event_type": IPV4},  # an address where it does not belong, quoted as it came
        {**good, "event_type": IPV6},
    ]
    payloads = [json.dumps(b).encode() for b in bad]
    # an address as a key's name, whose value no JSON reader can store (a lone surrogate): the reason names the key
    payloads += [json.dumps(good)[:-1].encode() + f', "{IPV6}": "\\ud800"}}'.encode()]
    payloads += [json.dumps(good)[:-1].encode() + f', "{IPV4}": "\\udc00"}}'.encode()]
    event["records"] = [_record(sample, f"bad-{i}", p) for i, p in enumerate(payloads)]
    return event


@pytest.mark.usefixtures("socket_enabled")  # the X-Ray SDK opens a UDP socket at import; tracing off, it sends nothing
def test_the_functions_log_and_metrics_hold_no_whole_client_address(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the transform, and a batch whose refused records quote client addresses in every way they can
    app = _transform_app(monkeypatch)
    event = _event_with_addresses_everywhere()
    context = lambda_context("shoplake-dev-firehose-transform", memory_mb=512)
    # WHEN Firehose hands it the batch
    answer = app.lambda_handler(event, context)
    out = capsys.readouterr()
    # THEN neither address appears whole in any line it wrote: log lines and metric dimensions alike
    assert_no_whole_address(out.out + out.err, IPV4, IPV6)
    # AND every record failed and was logged, with its field and the address's network
    assert [r["result"] for r in answer["records"]] == ["ProcessingFailed"] * len(event["records"])
    logged = [json.loads(line) for line in out.out.splitlines() if '"Clickstream record failed the contract"' in line]
    assert [line["record_id"] for line in logged] == [r["recordId"] for r in event["records"]]
    assert all(line["field"] and line["reason"] for line in logged)
    assert "198.51.100.0/24" in out.out and "2001:db8:cafe::/48" in out.out
