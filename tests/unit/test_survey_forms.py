"""The survey form file is the one source of truth: Parquet schema, Glue table, DQDL rules follow it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local_stack.template import load_template
from shoplake import business, lake_layout
from shoplake.quality.dqdl import parse
from shoplake.surveys.forms import FORMS_DIR, FormError, all_forms, load_form

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
OFFLINE_ADS = next(f for f in all_forms() if f.form == "offline_ads")


def _glue_tables() -> dict[str, dict]:
    return {
        spec["Properties"]["TableInput"]["Name"]: spec["Properties"]["TableInput"]
        for spec in RESOURCES.values()
        if spec["Type"] == "AWS::Glue::Table"
    }


@pytest.mark.parametrize("form", all_forms(), ids=lambda f: f.key)
def test_every_form_has_its_glue_table_with_the_same_columns(form) -> None:
    table = _glue_tables()[form.table]
    assert table["StorageDescriptor"]["Columns"] == form.glue_columns()
    assert [k["Name"] for k in table["PartitionKeys"]] == list(lake_layout.PARTITION_KEYS)
    location = table["StorageDescriptor"]["Location"]["Fn::Sub"]
    assert location.endswith("/" + lake_layout.survey_table_prefix(form.table))
    template = table["Parameters"]["storage.location.template"]["Fn::Sub"]
    assert template.endswith(lake_layout.survey_table_prefix(form.table) + "year=${!year}/month=${!month}/day=${!day}/")


def test_the_survey_trigger_and_the_launcher_use_the_layouts_prefixes() -> None:
    parser_event = RESOURCES["SurveyParserFunction"]["Properties"]["Events"]["SurveyUploaded"]["Properties"]
    assert parser_event["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": lake_layout.SURVEY_INBOX}]
    launcher_event = RESOURCES["GlueLauncherFunction"]["Properties"]["Events"]["SurveyPartitionWritten"]["Properties"]
    rules = {r["Name"]: r["Value"] for r in launcher_event["Filter"]["S3Key"]["Rules"]}
    assert rules == {"prefix": lake_layout.SURVEY_DATA, "suffix": ".parquet"}


def test_ruleset_allowed_values_are_the_forms_allowed_values() -> None:
    # GIVEN the DQDL ruleset of the survey table
    ruleset = RESOURCES["SurveyOfflineAdsRuleset"]["Properties"]["Ruleset"]
    # THEN every column it names is a form column, and every `in [...]` list is the form's list
    for rule in parse(ruleset):
        for name in rule.columns:
            column = OFFLINE_ADS.column(name)
            if rule.expression.startswith("in"):
                assert tuple(re.findall(r'"([^"]*)"', rule.expression)) == column.allowed, rule.text


def test_the_forms_categories_and_time_zone_are_the_business_ones() -> None:
    # The form file cannot import Python: its copies of the business facts are held here.
    assert OFFLINE_ADS.column("preferred_categories").allowed == business.CATEGORIES
    assert OFFLINE_ADS.timezone == business.TIME_ZONE.key


def test_the_partition_column_is_a_required_timestamp() -> None:
    column = OFFLINE_ADS.column(OFFLINE_ADS.partition_by)
    assert column.type == "timestamp"
    assert column.required


@pytest.mark.parametrize(
    "invisible",
    ["\ufeff", "\ufeff\ufeff", "\u200b", "\u2060", "\u200e", "\u00ad"],
    ids=["bom", "doubled-bom", "zero-width-space", "word-joiner", "left-to-right-mark", "soft-hyphen"],
)
def test_invisible_format_characters_in_a_header_do_not_stop_it_matching(invisible: str) -> None:
    # GIVEN headers carrying an invisible format character (Unicode category Cf) at the start or inside
    matched = OFFLINE_ADS.match_header([f"{invisible}응답자 ID", f"응답{invisible} 일시", f"연령대{invisible}"])
    # THEN they match as the plain headers do
    assert [c.name for c in matched.values()] == [
        c.name for c in OFFLINE_ADS.match_header(["응답자 ID", "응답 일시", "연령대"]).values()
    ]


def test_korean_and_english_headers_both_match() -> None:
    korean = OFFLINE_ADS.match_header(["응답자 ID", "응답 일시", "연령대"])
    english = OFFLINE_ADS.match_header(["respondent_id", "Submitted at", "AGE GROUP"])
    assert [c.name for c in korean.values()] == [c.name for c in english.values()]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('type = "string"', 'type = "text"', 1), "columns[0].type: 'text' is not one of"),
        (('partition_by = "submitted_at"', 'partition_by = "comment"', 1), "partition_by: 'comment' must be"),
        (("version = 1", "version = 2", 1), "a form file is named <form>.v<version>.toml"),
        (('"지하철" = "subway"', '"지하철" = "underground"', 1), "'underground' is not an allowed value"),
    ],
)
def test_a_broken_form_file_names_the_key(tmp_path: Path, change: tuple[str, str, int], message: str) -> None:
    text = (FORMS_DIR / "offline_ads.v1.toml").read_text(encoding="utf-8").replace(*change)
    path = tmp_path / "offline_ads.v1.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormError, match=re.escape(message)):
        load_form(path)
