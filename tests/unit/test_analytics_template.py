"""What template.yaml and the QuickSight child promise for analytics, checked against the files they copy."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from analytics.queries import all_queries, logical_id
from local_stack.template import ROOT, load_template
from shoplake import business, curated, lake_layout
from shoplake.surveys.forms import all_forms

RESOURCES: dict[str, Any] = load_template()["Resources"]
QUICKSIGHT: dict[str, Any] = load_template(ROOT / "analytics" / "quicksight.yaml")["Resources"]


@pytest.mark.parametrize("name", [q.name for q in all_queries()])
def test_every_query_file_is_a_named_query_with_the_same_sql(name: str) -> None:
    (the_query,) = [q for q in all_queries() if q.name == name]
    named = RESOURCES[logical_id(the_query)]
    assert named["Type"] == "AWS::Athena::NamedQuery"
    properties = named["Properties"]
    # `python -m analytics.queries` prints the resource to paste when a file changes
    assert properties["QueryString"] == the_query.sql
    assert properties["Name"] == name
    assert properties["Database"] == {"Ref": "LakeDatabase"}
    assert properties["WorkGroup"] == {"Ref": "AnalyticsWorkGroup"}


def test_no_named_query_is_left_without_its_file() -> None:
    named = {k for k, v in RESOURCES.items() if v["Type"] == "AWS::Athena::NamedQuery"}
    assert named == {logical_id(q) for q in all_queries()}


def test_the_workgroup_enforces_encrypted_results_and_a_scan_limit() -> None:
    configuration = RESOURCES["AnalyticsWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == {"Ref": "AthenaBytesScannedCutoff"}
    results = configuration["ResultConfiguration"]
    assert results["EncryptionConfiguration"] == {
        "EncryptionOption": "SSE_KMS",
        "KmsKey": {"Fn::GetAtt": ["LakeKey", "Arn"]},
    }
    assert results["OutputLocation"] == {"Fn::Sub": "s3://${AthenaResultsBucket}/results/"}


def test_query_results_expire_travel_only_over_tls_and_are_access_logged() -> None:
    bucket = RESOURCES["AthenaResultsBucket"]["Properties"]
    (expiry,) = [r for r in bucket["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
    assert expiry["Status"] == "Enabled" and expiry["ExpirationInDays"] <= 90
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
    (deny,) = RESOURCES["AthenaResultsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


def test_quicksight_is_deployed_only_when_someone_is_named_to_own_it() -> None:
    child = RESOURCES["QuickSightDashboards"]
    assert child["Condition"] == "HasQuickSightPrincipal"
    assert child["Properties"]["Location"] == "analytics/quicksight.yaml"
    assert child["Properties"]["Parameters"]["PrincipalArn"] == {"Ref": "QuickSightPrincipalArn"}


def test_every_spice_data_set_is_refreshed_daily_after_the_nightly_etl() -> None:
    (nightly,) = RESOURCES["NightlyEtlStateMachine"]["Properties"]["Events"].values()
    minute, hour = nightly["Properties"]["ScheduleExpression"].removeprefix("cron(").split()[:2]
    etl_starts = f"{int(hour):02d}:{int(minute):02d}"  # in business.TIME_ZONE (test_business_schedules)
    data_sets = {v["Properties"]["DataSetId"]["Fn::Sub"] for v in QUICKSIGHT.values() if v["Type"].endswith("DataSet")}
    schedules = [v["Properties"] for v in QUICKSIGHT.values() if v["Type"] == "AWS::QuickSight::RefreshSchedule"]
    assert {s["DataSetId"]["Fn::Sub"] for s in schedules} == data_sets
    for schedule in schedules:
        frequency = schedule["Schedule"]["ScheduleFrequency"]
        assert (frequency["Interval"], frequency["TimeZone"]) == ("DAILY", business.TIME_ZONE.key)
        assert frequency["TimeOfTheDay"] > etl_starts


def quicksight_type(arrow: pa.DataType) -> str:
    """QuickSight's column type for a Parquet type the lake holds."""
    if pa.types.is_string(arrow):
        return "STRING"
    if pa.types.is_integer(arrow):
        return "INTEGER"
    if pa.types.is_decimal(arrow) or pa.types.is_floating(arrow):
        return "DECIMAL"
    if pa.types.is_timestamp(arrow) or pa.types.is_date(arrow):
        return "DATETIME"
    if pa.types.is_boolean(arrow):
        return "BOOLEAN"
    raise AssertionError(f"no QuickSight type for {arrow}")


def data_set_columns() -> dict[str, list[dict[str, str]]]:
    """Each data set's table and the columns it reads."""
    tables = {}
    for resource in QUICKSIGHT.values():
        if resource["Type"] == "AWS::QuickSight::DataSet":
            for physical in resource["Properties"]["PhysicalTableMap"].values():
                tables[physical["RelationalTable"]["Name"]] = physical["RelationalTable"]["InputColumns"]
    return tables


def test_data_set_columns_follow_their_tables_declarations() -> None:
    (form,) = [f for f in all_forms() if f.form == "offline_ads"]
    schemas = {form.table: form.arrow_schema()} | {t: curated.arrow_schema(t) for t in lake_layout.CURATED_TABLES}
    tables = data_set_columns()
    assert set(tables) <= set(schemas)
    for table, columns in tables.items():
        for column in columns:
            assert column["Type"] == quicksight_type(schemas[table].field(column["Name"]).type), (table, column)
