"""The Firehose transform: one result per record, the contract enforced, never an exception."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_stack.template import load_template
from shoplake import lake_layout
from shoplake.clickstream.contract import glue_columns
from shoplake.clickstream.transform import OK, transform
from tests.conftest import aws_sample, aws_sample_names, our_event

ARRIVED = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)
ARRIVED_MS = int(ARRIVED.timestamp() * 1000)
FIREHOSE_REQUESTS = [n for n in aws_sample_names("firehose_transform_") if "response" not in n]
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def event(**changes: Any) -> dict[str, Any]:
    base = {
        "event_id": "evt-1",
        "event_time": "2026-11-24T14:29:58.123+09:00",
        "event_type": "add_to_cart",
        "session_id": "s-1",
        "user_id": "u-77",
        "page": "/products/linen-shirt",
        "product_id": "P-1001",
        "category": "Tops",
        "price": 39.9,
        "quantity": 2,
        "user_agent": IPHONE,
        "client_ip": "203.0.113.77",
        "country": "us",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def records(*events: object, raw: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "recordId": f"r{i}",
            "approximateArrivalTimestamp": ARRIVED_MS,
            "data": base64.b64encode(e if raw else json.dumps(e).encode()).decode(),  # type: ignore[arg-type]
        }
        for i, e in enumerate(events)
    ]


def decoded(result: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(result["data"]))


@pytest.mark.parametrize("name", FIREHOSE_REQUESTS)
def test_every_firehose_sample_gets_one_result_per_record(name: str) -> None:
    # GIVEN a real Firehose transformation request (none of them carries our contract)
    request = aws_sample(name)
    # WHEN transformed
    result = transform(request["records"])
    # THEN every recordId comes back once, as ProcessingFailed with its reason
    assert [r["recordId"] for r in result.records] == [r["recordId"] for r in request["records"]]
    assert {r["result"] for r in result.records} == {"ProcessingFailed"}
    assert [r["data"] for r in result.records] == [r["data"] for r in request["records"]]
    assert len(result.failures) == len(request["records"])


def test_the_response_has_the_shape_firehose_documents() -> None:
    documented = aws_sample("firehose_transform_response_ok_with_partitionKeys__aws-lambda-dotnet.json")["records"][0]
    (ours,) = transform(records(event()), now=ARRIVED).records
    assert set(ours) == set(documented)
    assert set(ours["metadata"]) == set(documented["metadata"])


def test_an_event_is_normalised_and_partitioned_by_its_own_utc_hour() -> None:
    (result,) = transform(records(event())).records
    assert result["result"] == OK
    assert result["metadata"]["partitionKeys"] == {"year": "2026", "month": "11", "day": "24", "hour": "05"}
    stored = decoded(result)
    assert stored["event_time"] == "2026-11-24T05:29:58.123Z"
    assert stored["category"] == "tops"
    assert stored["country"] == "US"
    assert stored["device_class"] == "mobile"
    assert stored["is_bot"] is False
    assert stored["client_ip_prefix"] == "203.0.113.0/24"
    assert "client_ip" not in stored
    assert set(stored) <= {c["Name"] for c in glue_columns()}  # absent optional fields stay absent (NULL)


def test_epoch_milliseconds_are_an_event_time_too() -> None:
    (result,) = transform(records(event(event_time=ARRIVED_MS - 1000))).records
    assert decoded(result)["event_time"] == "2026-11-24T05:29:59.000Z"


def test_event_times_are_stored_in_one_form() -> None:
    (result,) = transform(records(event(event_time="2026-11-24T05:29:58,123Z"))).records  # a comma: ISO-8601 too
    assert decoded(result)["event_time"] == "2026-11-24T05:29:58.123Z"


def test_crawlers_are_flagged_not_deleted() -> None:
    (result,) = transform(records(event(user_agent="Googlebot/2.1 (+http://www.google.com/bot.html)"))).records
    assert result["result"] == OK
    assert decoded(result)["is_bot"] is True
    assert decoded(result)["device_class"] == "bot"


def test_an_exact_duplicate_in_a_batch_is_dropped() -> None:
    results = transform(records(event(), event(), event(event_id="evt-2"))).records
    assert [r["result"] for r in results] == ["Ok", "Dropped", "Ok"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"event_type": "teleport"}, "event_type: 'teleport' is not one of"),
        ({"event_type": None}, "event_type: required"),
        ({"event_time": "2026-11-24 14:29:58"}, "has no UTC offset"),
        ({"event_time": "yesterday"}, "is not ISO-8601"),
        ({"event_time": (ARRIVED - timedelta(days=8)).isoformat()}, "outside the accepted window"),
        ({"event_time": (ARRIVED + timedelta(hours=1)).isoformat()}, "outside the accepted window"),
        ({"session_id": "  "}, "session_id: required"),
        ({"price": None}, "price and quantity: required for add_to_cart"),
        ({"price": -1}, "price: expected a number of at least 0"),
        ({"quantity": 0}, "quantity: expected a whole number from 1 to 2147483647"),
        ({"product_id": None}, "product_id: required for add_to_cart"),
        ({"client_ip": "not-an-ip"}, "client_ip: 'not-an-ip' is not an IP address"),
        ({"country": "USA"}, "country: expected a two-letter ISO code"),
        ({"page": "/" + "x" * 3000}, "page: 3001 characters, more than 2048"),
    ],
)
def test_a_record_breaking_the_contract_fails_naming_the_field(changes: dict[str, Any], reason: str) -> None:
    result = transform(records(event(**changes)), now=ARRIVED)
    assert [r["result"] for r in result.records] == ["ProcessingFailed"]
    (failure,) = result.failures
    assert reason in failure[1]


@pytest.mark.parametrize(("raw", "reason"), [(b"not json", "not JSON"), (b"[1, 2]", "not a JSON object")])
def test_a_record_that_is_not_a_json_object_fails(raw: bytes, reason: str) -> None:
    (failure,) = transform(records(raw, raw=True)).failures
    assert reason in failure[1]


def test_data_that_is_not_base64_fails() -> None:
    batch = [{"recordId": "x", "approximateArrivalTimestamp": ARRIVED_MS, "data": "%%%not base64%%%"}]
    assert transform(batch).failures == [("x", "data: not base64")]


def test_the_glue_table_has_the_contracts_columns() -> None:
    table = load_template()["Resources"]["ClickstreamEventsTable"]["Properties"]["TableInput"]
    assert table["StorageDescriptor"]["Columns"] == glue_columns()
    assert [k["Name"] for k in table["PartitionKeys"]] == ["year", "month", "day", "hour"]


# Property-based: random and hostile batches.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.text(max_size=80),
        "event_time": st.one_of(
            st.datetimes(
                min_value=datetime(2026, 11, 10), max_value=datetime(2026, 11, 30), timezones=st.just(UTC)
            ).map(lambda d: d.isoformat()),
            st.integers(),
            st.text(max_size=30),
        ),
        "event_type": st.sampled_from(["page_view", "PURCHASE", " search ", "nope", ""]),
        "session_id": st.text(max_size=70),
        "product_id": st.text(max_size=70),
        "search_term": st.text(max_size=300),
        "price": st.one_of(st.floats(allow_nan=False), st.integers(), st.text(max_size=5)),
        "quantity": st.one_of(st.integers(), st.floats(allow_nan=False)),
        "user_agent": st.text(max_size=200),
        "client_ip": st.one_of(st.ip_addresses().map(str), st.text(max_size=20)),
        "country": st.text(max_size=3),
        "extra": JSON_VALUES,
    },
)
PAYLOADS = st.one_of(
    EVENTS.map(lambda e: json.dumps(e).encode()),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.tuples(PAYLOADS, st.booleans()), max_size=40))
def test_any_batch_gets_exactly_one_valid_result_per_record(batch: list[tuple[bytes, bool]]) -> None:
    items = [
        {
            "recordId": f"id-{i}",
            "approximateArrivalTimestamp": ARRIVED_MS,
            "data": base64.b64encode(payload).decode() if valid_b64 else payload.decode("latin-1"),
        }
        for i, (payload, valid_b64) in enumerate(batch)
    ]
    response = transform(items).response()
    assert [r["recordId"] for r in response["records"]] == [i["recordId"] for i in items]
    for record in response["records"]:
        assert record["result"] in ("Ok", "Dropped", "ProcessingFailed")
        if record["result"] == "Ok":
            base64.b64decode(record["data"], validate=True)
            keys = record["metadata"]["partitionKeys"]
            assert all(isinstance(v, str) for v in keys.values())
    assert len(json.dumps(response)) < 6 * 2**20


def test_our_sample_batch_transforms_cleanly() -> None:
    request = our_event("firehose_transform/kinesis_source_batch.json")
    result = transform(request["records"], now=ARRIVED)
    assert [r["result"] for r in result.records] == ["Ok"] * len(request["records"])
    assert {r["metadata"]["partitionKeys"]["day"] for r in result.records} == {"24"}


def test_firehose_writes_where_the_lake_layout_says() -> None:
    resources = load_template()["Resources"]
    destination = resources["ClickstreamDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert destination["Prefix"].startswith(lake_layout.CLICKSTREAM_EVENTS + "year=!{partitionKeyFromLambda:year}/")
    assert destination["ErrorOutputPrefix"].startswith(lake_layout.CLICKSTREAM_ERRORS)
    table = resources["ClickstreamEventsTable"]["Properties"]["TableInput"]
    assert table["StorageDescriptor"]["Location"]["Fn::Sub"].endswith("/" + lake_layout.CLICKSTREAM_EVENTS)
