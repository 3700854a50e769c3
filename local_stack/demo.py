"""`make demo`: shoplake end to end on this machine, one stage per capability.

Slack is a local sink whose messages are printed here, unless SHOPLAKE_SLACK_WEBHOOK_URL
or SHOPLAKE_SLACK_BOT_TOKEN is set, in which case the messages really go to Slack.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import psycopg
import pyarrow.parquet as pq

from local_stack import demo_report, demo_threads, sample_clickstream, sample_surveys
from local_stack.function_urls import open_url
from local_stack.iam import demo_summary as iam_summary
from local_stack.postgres import jdbc_properties, jdbc_url, shop_postgres
from local_stack.sample_history import seed_history
from local_stack.shoppers import run_shoppers
from local_stack.slack_sink import SinkMessage, SlackSink, api_error
from local_stack.stack import LocalStack
from local_stack.template import ROOT
from shop.migrate import apply_migrations
from shoplake import business, lake_layout
from shoplake.clickstream.producer import ClickstreamProducer
from shoplake.clickstream.redrive import redrive
from shoplake.notices import Notice, publish
from shoplake.surveys.template import find_form, write_template
from shoplake_etl.catalog import partition_values
from shoplake_etl.night import ShopDatabase
from shoplake_etl.tables import ETL_DATABASE_ROLE


@dataclass(frozen=True)
class Demo:
    stack: LocalStack
    sink: SlackSink | None
    # The shop database (this machine's PostgreSQL or an embedded one), schema DEMO_SCHEMA.
    dsn: str

    def say(self, text: str) -> None:
        print(f"  · {text}")

    def show_slack(self, since: int) -> int:
        if self.sink is None:
            for invocation in self.stack.router.history[since:]:
                print(f"    {invocation.function}: {invocation.result or invocation.error}")
            return len(self.stack.router.history)
        return demo_threads.print_since(self.sink, since)


def _event(path: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / path).read_text(encoding="utf-8"))
    return event


def _put_event(demo: Demo, event: dict[str, Any]) -> None:
    demo.stack.client("events").put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": event["resources"],
            }
        ]
    )


def alerting(demo: Demo) -> None:
    stack, topic = demo.stack, demo.stack.output("AlertTopicArn")
    seen = 0 if demo.sink is None else len(demo.sink.messages)
    alarm = _event("slack_notifier/sns_alarm_web_5xx.json")["Records"][0]["Sns"]
    demo.say("CloudWatch publishes the alarm shoplake-dev-web-5xx to the alert topic")
    stack.client("sns").publish(TopicArn=topic, Message=alarm["Message"], Subject=alarm["Subject"][:100])
    demo.say("EventBridge delivers the same alarm transition (it must not be posted twice)")
    _put_event(demo, _event("slack_notifier/eventbridge_alarm_web_5xx.json"))
    demo.say("CodePipeline reports a failed deployment on EventBridge")
    _put_event(demo, _event("slack_notifier/eventbridge_pipeline_failed.json"))
    demo.say("a shoplake function publishes a notice (a rejected survey file)")
    notice = Notice.from_message(
        json.loads(_event("slack_notifier/sns_notice_survey_rejected.json")["Records"][0]["Sns"]["Message"])
    )
    publish(stack.client("sns"), topic, notice)
    invocations = stack.deliver_pending()
    posted = demo.show_slack(seen) - seen if demo.sink is not None else len(invocations)
    demo.say(f"the notifier ran {len(invocations)} times and posted {posted} messages (above)")
    if demo.sink is not None:
        demo.say(
            f"{len(invocations) - posted} duplicate (the alarm's EventBridge copy) was answered from the dedupe table"
        )
    if demo.sink is not None:
        demo.say("Slack now answers channel_not_found (the channel was archived); a Glue job fails")
        demo.sink.answer_next(*[api_error("channel_not_found")] * 3)
        _put_event(demo, _event("slack_notifier/eventbridge_glue_job_failed.json"))
        (failed,) = stack.deliver_pending()
        queue = stack.output("AlertDeadLetterQueueUrl")
        kept = stack.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
        demo.say(
            f"after {failed.attempts} attempts ({failed.error}) the alert is kept: "
            f"{kept['Attributes']['ApproximateNumberOfMessages']} message(s) in {queue.rsplit('/', 1)[-1]}"
        )


def _lake_keys(demo: Demo, bucket: str, prefix: str = "") -> list[str]:
    listing = demo.stack.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def surveys(demo: Demo) -> None:
    stack = demo.stack
    inbox, lake = stack.output("SurveyBucketName"), stack.output("LakeBucketName")
    work = stack.work_dir / "demo"
    work.mkdir(parents=True, exist_ok=True)
    seen = 0 if demo.sink is None else len(demo.sink.messages)
    name = "2026-11 지하철 광고 설문.xlsx"
    path = sample_surveys.write_survey_workbook(work / "survey.xlsx", rows=300)
    demo.say(f"staff drop {name!r} (Korean headers under a title row, 300 answers, 3 of them wrong) in inbox/")
    stack.client("s3").upload_file(str(path), inbox, f"inbox/{name}")
    other = sample_surveys.write_survey_workbook(
        work / "other-store.xlsx", rows=25, bad_rows=False, seed=3, first_id=5001
    )
    demo.say(f"before it is read, another store uploads its own 25 answers under the same name {name!r}")
    stack.client("s3").upload_file(str(other), inbox, f"inbox/{name}")
    stack.deliver_pending()
    tables = []
    for key in _lake_keys(demo, lake, lake_layout.SURVEY_DATA):
        tables.append(pq.read_table(io.BytesIO(stack.client("s3").get_object(Bucket=lake, Key=key)["Body"].read())))
        demo.say(f"lake: s3://{lake}/{key} — {tables[-1].num_rows} typed rows")
    first = tables[0].slice(0, 1).to_pylist()[0]
    demo.say(
        f"  first row: {first['respondent_id']} {first['submitted_at']:%Y-%m-%d %H:%M} UTC, "
        f"heard via {first['first_heard_channel']}, {first['age_group']}, satisfaction {first['satisfaction']}"
    )
    filed = _lake_keys(demo, inbox, lake_layout.SURVEY_PROCESSED)
    demo.say(f"each upload is its own version, both kept: {', '.join(filed)}")
    demo.say("the parser's summary and the quality job's result in Slack:")
    links_seen = demo.sink.messages[seen:] if demo.sink is not None else []
    seen = _marked_copy(demo, links_seen, work, name, demo.show_slack(seen))
    template = write_template(find_form("offline_ads"), work / "offline_ads-template.xlsx")
    demo.say(f"a blank template for staff, generated from the form file: {template}")
    bomb = sample_surveys.write_zip_bomb(work / "bomb.xlsx")
    demo.say(
        f"someone drops a zip bomb disguised as a survey (50 MB of XML in a {bomb.stat().st_size // 1024} KB file)"
    )
    stack.client("s3").upload_file(str(bomb), inbox, "inbox/설문 결과 최종.xlsx")
    stack.deliver_pending()
    (report_key,) = [k for k in _lake_keys(demo, inbox, lake_layout.SURVEY_QUARANTINE) if k.endswith(".report.json")]
    report = json.loads(stack.client("s3").get_object(Bucket=inbox, Key=report_key)["Body"].read())
    demo.say(f"quarantined unopened: {report['reason']}")
    demo.say(f"kept as {report['quarantined_as']}, report beside it; the uploader is told:")
    demo.show_slack(seen)


_MARKED_COPY_LINK = re.compile(r"<(https://[^|>]+)\|Download your file with each problem marked")


def _marked_copy(demo: Demo, messages: list[SinkMessage], work: Path, name: str, seen: int) -> int:
    """The uploader follows the link in their Slack message, fixes the marked cells and uploads the copy.

    Returns how many Slack messages have been shown (as `Demo.show_slack`).
    """
    found = [m.group(1) for message in messages for m in [_MARKED_COPY_LINK.search(json.dumps(message.blocks))] if m]
    if not found:
        demo.say("(no marked-up copy link: Slack is real here, the link is in the channel)")
        return seen
    url = found[0].replace("&amp;", "&")
    demo.say(f"the uploader opens the 7-day link in that message: {url[:90]}…")
    opened = open_url(demo.stack, url)
    copy = work / f"{Path(name).stem} (marked).xlsx"
    copy.write_bytes(opened.body)
    book = openpyxl.load_workbook(copy)
    answers = book["응답"]
    marked = [c for row in answers.iter_rows() for c in row if c.comment is not None]
    demo.say(f"their own workbook comes back ({copy}), the ingested rows emptied, {len(marked)} cells marked:")
    for cell in marked:
        demo.say(f"  {cell.coordinate} {cell.value!r}: {cell.comment.text.splitlines()[1]}")
    for cell, fixed in zip(marked, (5, "여성", "2026-11-23 10:00"), strict=False):
        cell.value = fixed
    book.save(copy)
    demo.say("they fix the three cells and upload the copy again:")
    demo.stack.client("s3").upload_file(str(copy), demo.stack.output("SurveyBucketName"), f"inbox/{copy.name}")
    demo.stack.deliver_pending()
    return demo.show_slack(seen)


def clickstream(demo: Demo) -> None:
    stack = demo.stack
    lake = stack.output("LakeBucketName")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    events = sample_clickstream.day_of_traffic(yesterday, sessions=600)
    demo.say(f"the shop sends {len(events):,} events of {yesterday:%Y-%m-%d} (UTC) through the producer "
             "(evening peaks in the Americas, funnels from view to purchase, a few malformed)")  # fmt: skip
    kinesis, stream = stack.task_client("kinesis"), stack.output("ClickstreamStreamName")  # as the app task's role
    producer = ClickstreamProducer(kinesis, stream, linger_seconds=0.05)
    for body in events:
        producer.emit(json.loads(body) if body.startswith(b"{") and body.endswith(b"}") else {"raw": body.decode()})
    producer.close()
    stack.deliver_pending()
    per_hour: dict[str, int] = {}
    for key in _lake_keys(demo, lake, lake_layout.CLICKSTREAM_EVENTS + lake_layout.partition_path(yesterday.date())):
        hour = key.split("/hour=")[1][:2]
        per_hour[hour] = (
            per_hour.get(hour, 0)
            + pq.read_metadata(io.BytesIO(stack.client("s3").get_object(Bucket=lake, Key=key)["Body"].read())).num_rows
        )
    today = lake_layout.CLICKSTREAM_EVENTS + lake_layout.partition_path(datetime.now(UTC).date())
    shoppers = len(_lake_keys(demo, lake, today))
    demo.say(f"the simulated shoppers' clicks are in {shoppers} file(s) under {today}")
    demo.say(f"Parquet in the lake, by the hour the events of {yesterday:%Y-%m-%d} happened (UTC):")
    peak = max(per_hour.values())
    for hour, count in sorted(per_hour.items()):
        print(f"      {hour}:00  {count:5,}  " + "█" * max(1, round(40 * count / peak)))
    errors = _lake_keys(demo, lake, lake_layout.CLICKSTREAM_ERRORS)
    failed = sum(len(stack.client("s3").get_object(Bucket=lake, Key=key)["Body"].read().splitlines()) for key in errors)
    demo.say(
        f"{failed} records broke the contract and wait under {lake_layout.CLICKSTREAM_ERRORS}, in Firehose's format"
    )
    report = redrive(stack.client("s3"), stack.client("kinesis"), lake, stack.output("ClickstreamStreamName"))
    stack.deliver_pending()
    demo.say(f"redrive: {report.repaired} repaired, {len(report.unrepaired)} still failing, kept with their reasons:")
    for item in report.unrepaired[:4]:
        print(f"      {item['reason']}")


DEMO_SCHEMA = "shoplake_demo"


def _finished(demo: Demo, execution_arn: str, timeout: float = 900) -> dict[str, Any]:
    sfn, deadline = demo.stack.client("stepfunctions"), time.monotonic() + timeout
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.5)
    raise TimeoutError(f"the nightly run did not finish in {timeout:.0f} s")


def shop(demo: Demo) -> None:
    stack, yesterday = demo.stack, (datetime.now(UTC) - timedelta(days=1)).date()
    with psycopg.connect(demo.dsn, autocommit=True) as database:
        database.execute(f"DROP SCHEMA IF EXISTS {DEMO_SCHEMA} CASCADE")
        database.execute(f"CREATE SCHEMA {DEMO_SCHEMA}")
        database.execute(f"SET search_path TO {DEMO_SCHEMA}")
        apply_migrations(database)
        seeded = seed_history(database, yesterday)
    demo.say(
        f"the shop database ({demo.dsn.split('@')[-1]}, schema {DEMO_SCHEMA}) starts with 15 days of history up to "
        f"{yesterday}: {seeded['customer']:,} customers, {seeded['product']:,} products, "
        f"{seeded['purchase']:,} order lines, {seeded['review']:,} reviews"
    )
    demo.say(
        "the shop starts (nginx before the app tier, on loopback) and simulated people use it through the storefront:"
    )
    kinesis, stream = stack.task_client("kinesis"), stack.output("ClickstreamStreamName")  # as the app task's role
    producer = ClickstreamProducer(kinesis, stream, linger_seconds=0.05)
    summary = run_shoppers(demo.dsn, producer, 12, search_path=DEMO_SCHEMA)
    producer.close()
    demo.say(summary.line())
    demo.say("their orders are in the shop database now, and their clicks on the clickstream, for the stages below")


def _start(demo: Demo, day: date, name: str) -> str:
    """Start the state machine for `day` as the nightly schedule's role (a back-fill: as an operator, the harness)."""
    run, payload = f"{name}-{day}-{int(time.time())}", {"run_date": day.isoformat()}
    if name != "backfill":
        return demo.stack.fire_state_machine_schedule("Nightly", name=run, payload=payload)
    sfn, arn = demo.stack.client("stepfunctions"), demo.stack.stack.ref("NightlyEtlStateMachine")
    return str(sfn.start_execution(stateMachineArn=arn, name=run, input=json.dumps(payload))["executionArn"])


def _backfill_during_the_night(demo: Demo, day: date, timeout: float = 120) -> None:
    """Once the night holds `day`, start a back-fill of the same day: it is refused, and says so in Slack."""
    dynamodb, table = demo.stack.client("dynamodb"), demo.stack.stack.ref("EtlDayLockTable")
    deadline = time.monotonic() + timeout
    while "Item" not in dynamodb.get_item(TableName=table, Key={"run_date": {"S": day.isoformat()}}):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the night did not hold {day} in {timeout:.0f} s")
        time.sleep(0.2)
    demo.say(f"meanwhile someone starts a back-fill of {day}, while the night still runs it...")
    outcome = _finished(demo, _start(demo, day, "backfill"))
    demo.say(f"the back-fill {outcome['status']}: refused, since the night holds the day (Slack below says so)")


def _night(demo: Demo, day: date, title: str, *, backfill: bool = False) -> dict[str, dict[str, Any]]:
    """Run the state machine for `day` and show what each step did; returns the runs by id.

    With `backfill`, a second run of the same day is started while the night runs, and is refused.
    """
    stack = demo.stack
    done = set(stack.glue.results)
    demo.say(f"Step Functions runs the night for {day}, {title} (Glue's jobs on local Spark, the same job code)...")
    started = time.monotonic()
    execution_arn = _start(demo, day, "demo")
    if backfill:
        _backfill_during_the_night(demo, day)
    outcome = _finished(demo, execution_arn)
    runs = {run_id: run for run_id, run in stack.glue.results.items() if run_id not in done}
    demo.say(f"execution {outcome['status']} in {time.monotonic() - started:.0f} s; the steps, in order:")
    for run in runs.values():
        result = run["result"]
        counts = {name: count for name, count in (result or {}).items() if isinstance(count, int)}
        shown = ", ".join(f"{name} {count:,}" for name, count in counts.items()) if counts else "done"
        print(f"      {run['step']:<19} {shown}")
    return runs


def nightly_etl(demo: Demo) -> None:
    stack = demo.stack
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()  # the day the clickstream stage sent
    seen = 0 if demo.sink is None else len(demo.sink.messages)
    stack.glue.shop_database = ShopDatabase(
        jdbc_url(demo.dsn, DEMO_SCHEMA), jdbc_properties(demo.dsn, ETL_DATABASE_ROLE), salt="local-demo-pepper"
    )
    runs = _night(demo, yesterday, "yesterday's history", backfill=True)
    published = [r["result"] for r in runs.values() if r["step"] == "publish"]
    quality = [r["result"] for r in runs.values() if r["step"] == "quality"]
    if quality:
        rules = ", ".join(f"{table} {passed} rules" for table, passed in quality[-1].items())
        demo.say(f"data quality: every rule passed ({rules}), so the day was published")
    if published:
        glue, catalog = stack.client("glue"), stack.stack.ref("LakeDatabase")
        demo.say("published whole: every table's day in the Glue catalog points at the version just written,")
        demo.say(f"then the day's manifest ({lake_layout.day_manifest_key(yesterday)}) made it the published day")
        for table, rows in ((t, published[-1][t]) for t in lake_layout.CURATED_TABLES):
            values = partition_values(yesterday)
            partition = glue.get_partition(DatabaseName=catalog, TableName=table, PartitionValues=values)
            print(f"      {table:<20} {rows:>6,} rows  {partition['Partition']['StorageDescriptor']['Location']}")
        for line in published[-1]["repaired"]:
            demo.say(f"repaired before publishing: {line}")
    today = business.business_date(datetime.now(UTC))
    _night(demo, today, "so far: the simulated shoppers' orders, reviews and clicks")
    stack.deliver_pending()
    demo.say("the nights in Slack, each run one thread (started, each step's notice, done):")
    demo.show_slack(seen)


STAGES: list[tuple[str, Callable[[Demo], None]]] = [
    ("Alerting: every alert reaches Slack, once, and none is lost", alerting),
    ("Alert threads: an alarm's whole life in one Slack thread, acknowledged from Slack", demo_threads.alarm_thread),
    ("Surveys: a spreadsheet in the inbox becomes typed Parquet in the lake", surveys),
    ("The shop: people sign up, browse, order, pay and review", shop),
    ("Clickstream: every click lands in the lake by the hour it happened", clickstream),
    ("Nightly ETL: at 02:00 the shop's day becomes clean, joined, checked data in the lake", nightly_etl),
    ("Analytics: the marketing questions answered from the lake, as a report", demo_report.stage),
    ("IAM: every principal ran as its own role, and nothing was refused", iam_summary.stage),
]


def _slack_secret() -> dict[str, str] | None:
    if os.environ.get("SHOPLAKE_SLACK_WEBHOOK_URL"):
        return {"webhook_url": os.environ["SHOPLAKE_SLACK_WEBHOOK_URL"]}
    if os.environ.get("SHOPLAKE_SLACK_BOT_TOKEN"):
        return {"bot_token": os.environ["SHOPLAKE_SLACK_BOT_TOKEN"]}
    return None


def main(argv: list[str] | None = None) -> int:
    """`make demo`: every stage, in order; returns the exit status."""
    argparse.ArgumentParser(
        prog="python -m local_stack.demo",
        description="shoplake end to end on this machine (make demo): alerting, surveys, the shop, the "
        "clickstream, the nightly ETL and analytics, on moto, local Spark, PostgreSQL and a Slack sink. "
        "Set SHOPLAKE_SLACK_WEBHOOK_URL or SHOPLAKE_SLACK_BOT_TOKEN to post to a real Slack.",
    ).parse_args(argv)
    secret = _slack_secret()
    sink = None if secret else SlackSink().start()
    print("shoplake demo: the whole system on this machine (moto for AWS, functions in-process)")
    slack = "the real Slack workspace (configured by environment)" if secret else "a local sink, printed below"
    print(f"  Slack: {slack}")
    try:
        with LocalStack(slack_sink=sink, slack_secret=secret) as stack, shop_postgres(stack.work_dir) as dsn:
            print(f"  moto server at {stack.endpoint_url}; resources from template.yaml: {len(stack.stack.resources)}")
            print(f"  function logs in {stack.work_dir / 'logs'}")
            demo = Demo(stack, sink, dsn)
            for number, (title, stage) in enumerate(STAGES, start=1):
                print(f"\n[{number}/{len(STAGES)}] {title}")
                stage(demo)
    finally:
        if sink is not None:
            sink.stop()
    print("\ndemo finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
