"""What template.yaml and the QuickSight child promise for analytics, checked against the files they copy."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from analytics.dashboard import DATA_SETS, TEMPLATE_DATABASE, TODAY_KEY, data_set_sql
from analytics.queries import all_queries, fill_business_facts, logical_id, shared_ctes
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


def physical_tables() -> dict[str, dict[str, Any]]:
    """Every data set's physical tables, by their id (unique across the data sets here)."""
    tables: dict[str, dict[str, Any]] = {}
    for resource in QUICKSIGHT.values():
        if resource["Type"] == "AWS::QuickSight::DataSet":
            tables |= resource["Properties"]["PhysicalTableMap"]
    return tables


def data_set_columns() -> dict[str, list[dict[str, str]]]:
    """Each data set's table and the columns it reads (a custom SQL data set's: those of the facts it names)."""
    custom = {data_set.key: data_set.table for data_set in DATA_SETS}
    tables = {}
    for key, physical in physical_tables().items():
        if "CustomSql" in physical:
            tables[custom[key]] = physical["CustomSql"]["Columns"]
        else:
            tables[physical["RelationalTable"]["Name"]] = physical["RelationalTable"]["InputColumns"]
    return tables


@pytest.mark.parametrize("data_set", DATA_SETS, ids=lambda data_set: data_set.key)
def test_the_dashboard_names_products_with_the_sql_made_from_the_reports_ctes(data_set: Any) -> None:
    # GIVEN the data set as the QuickSight template declares it
    custom = physical_tables()[data_set.key]["CustomSql"]
    # THEN its SQL is the one analytics.dashboard makes (`python -m analytics.dashboard` prints it),
    # in the stack's database, and its columns are the data set's
    assert custom["SqlQuery"] == {"Fn::Sub": data_set_sql(data_set, TEMPLATE_DATABASE)}
    assert custom["Columns"] == [{"Name": name, "Type": kind} for name, kind in data_set.columns]
    assert custom["DataSourceArn"] == {"Fn::GetAtt": ["AthenaDataSource", "Arn"]}
    # AND that SQL holds the report's own CTEs: the product dimension (here the newest published: on or before
    # Seoul's day at the refresh) and the naming
    sql = data_set_sql(data_set)
    assert shared_ctes("named_products", data_set.key) in sql
    assert fill_business_facts(shared_ctes("product_dim", TODAY_KEY), "the test") in sql


def test_no_data_set_names_products_by_the_facts_day_alone() -> None:
    # GIVEN every data set of the dashboard
    for key, physical in physical_tables().items():
        columns = physical.get("RelationalTable", {}).get("InputColumns", [])
        # THEN one reading product names straight from a table is none: names come from the shared CTEs
        assert "product_name" not in {column["Name"] for column in columns}, key


def test_data_set_columns_follow_their_tables_declarations() -> None:
    (form,) = [f for f in all_forms() if f.form == "offline_ads"]
    schemas = {form.table: form.arrow_schema()} | {t: curated.arrow_schema(t) for t in lake_layout.CURATED_TABLES}
    tables = data_set_columns()
    assert set(tables) <= set(schemas)
    for table, columns in tables.items():
        for column in columns:
            assert column["Type"] == quicksight_type(schemas[table].field(column["Name"]).type), (table, column)
