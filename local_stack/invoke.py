"""Invoke one function on one sample event, in-process, against the local stack.

    python -m local_stack.invoke SlackNotifierFunction events/slack_notifier/sns_alarm_web_5xx.json
    python -m local_stack.invoke SurveyParserFunction events/survey_parser/s3_put_korean_key.json \
        --upload events/survey_parser/sample_survey.xlsx
    python -m local_stack.invoke GlueLibraryFunction events/glue_library/create.json
    python -m local_stack.invoke SlackInteractionsFunction events/slack_interactions/block_actions_acknowledge.json

The Docker-free equivalent of `sam local invoke -e`: the function's module, layers and
environment come from template.yaml; AWS is moto; Slack is the local sink (or the real
one, with SHOPLAKE_SLACK_WEBHOOK_URL / SHOPLAKE_SLACK_BOT_TOKEN set). A CloudFormation
custom-resource request answers a local receiver instead of its ResponseURL, and the answer
CloudFormation would get is printed (Status, then Data or Reason). A Slack request (a function URL event with
`x-slack-signature`) is signed again with the local Slack secret's signing secret, as Slack would sign it now.

Exit status: 0 when the function returned (and a custom resource answered SUCCESS), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local_stack.cloudformation_responses import ResponseReceiver, is_custom_resource_request, problems
from local_stack.demo import _slack_secret
from local_stack.function_urls import slack_signed
from local_stack.slack_sink import SlackSink, as_text
from local_stack.stack import LocalStack
from shoplake.s3_notifications import objects_created


def _print_cloudformation_answer(request: Mapping[str, Any], receiver: ResponseReceiver) -> int:
    """What CloudFormation would have received; 0 for a well-formed SUCCESS, 1 otherwise."""
    found = problems(request, receiver.bodies)
    if not receiver.bodies or len(receiver.bodies) > 1:
        print(f"CloudFormation response: {found[0]}")
        return 1
    (response,) = receiver.responses()
    status, reason, data = response.get("Status"), response.get("Reason"), response.get("Data")
    print(f"CloudFormation response: {status} for {request['LogicalResourceId']}", end="")
    print(f" (physical id {response.get('PhysicalResourceId')})")
    if reason and reason != status:  # shoplake's answers give the status as the reason when there is none
        print(f"  Reason: {reason}")
    for name, value in data.items() if isinstance(data, dict) else []:
        print(f"  Data.{name}: {value}")
    for problem in found:
        print(f"  CloudFormation would refuse it: {problem}")
    return 0 if not found and response.get("Status") == "SUCCESS" else 1


def upload_named_version(stack: LocalStack, event: dict[str, Any], path: Path) -> None:
    """Put `path` at each S3 record's bucket and key, and name the version it made in the record, as S3 would.

    The event file then stands for the upload's own notification: what moto queued for it is dropped.
    """
    for record, created in zip(event.get("Records") or [], objects_created(event), strict=False):
        put = stack.client("s3").put_object(Bucket=created.bucket, Key=created.key, Body=path.read_bytes())
        if put.get("VersionId"):
            record["s3"]["object"]["versionId"] = put["VersionId"]
    stack.router.discard_pending()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help="logical id in template.yaml, e.g. SlackNotifierFunction")
    parser.add_argument("event", type=Path, help="a JSON event file, e.g. one under events/")
    parser.add_argument("--upload", type=Path, help="put this file at the S3 event's bucket and key first")
    args = parser.parse_args(argv)
    event = json.loads(args.event.read_text(encoding="utf-8"))
    secret = _slack_secret()
    sink = None if secret else SlackSink().start()
    receiver = ResponseReceiver().start() if is_custom_resource_request(event) else None
    try:
        # An event tried by hand may be refused: it is shown, and not a fault of the template's for make test.
        with LocalStack(slack_sink=sink, slack_secret=secret, expect_refusals=True) as stack:
            if args.function not in stack.functions:
                parser.error(f"no function {args.function!r} in template.yaml; there are: {', '.join(stack.functions)}")
            function = stack.functions[args.function]
            if args.upload:
                upload_named_version(stack, event, args.upload)
            if "x-slack-signature" in (event.get("headers") or {}) and stack.slack_signing_secret:
                # A sample Slack request's signature is as old as the sample: signed again as Slack would now.
                event = slack_signed(event, stack.slack_signing_secret)
            try:
                result = function.invoke(receiver.addressed_to(event) if receiver else event)
            except Exception as error:  # noqa: BLE001 - reported as Lambda reports an unhandled error
                print(json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}, indent=2))
                print(f"(log: {function.log_path})", file=sys.stderr)
                return 1
            print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
            status = _print_cloudformation_answer(event, receiver) if receiver else 0
            stack.deliver_pending()  # what the function published: notices on their way to Slack
            for message in sink.messages if sink else []:
                print(as_text(message))
            print(f"(log: {function.log_path})", file=sys.stderr)
    finally:
        if receiver is not None:
            receiver.stop()
        if sink is not None:
            sink.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
