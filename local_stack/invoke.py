"""Invoke one function on one sample event, in-process, against the local stack.

    python -m local_stack.invoke SlackNotifierFunction events/slack_notifier/sns_alarm_web_5xx.json
    python -m local_stack.invoke SurveyParserFunction events/survey_parser/s3_put_korean_key.json \
        --upload events/survey_parser/sample_survey.xlsx

The Docker-free equivalent of `sam local invoke -e`: the function's module, layers and
environment come from template.yaml; AWS is moto; Slack is the local sink (or the real
one, with SHOPLAKE_SLACK_WEBHOOK_URL / SHOPLAKE_SLACK_BOT_TOKEN set).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from local_stack.demo import _slack_secret
from local_stack.slack_sink import SlackSink, as_text
from local_stack.stack import LocalStack
from shoplake.s3_notifications import objects_created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help="logical id in template.yaml, e.g. SlackNotifierFunction")
    parser.add_argument("event", type=Path, help="a JSON event file, e.g. one under events/")
    parser.add_argument("--upload", type=Path, help="put this file at the S3 event's bucket and key first")
    args = parser.parse_args(argv)
    event = json.loads(args.event.read_text(encoding="utf-8"))
    secret = _slack_secret()
    sink = None if secret else SlackSink().start()
    try:
        with LocalStack(slack_sink=sink, slack_secret=secret) as stack:
            if args.function not in stack.functions:
                parser.error(f"no function {args.function!r} in template.yaml; there are: {', '.join(stack.functions)}")
            function = stack.functions[args.function]
            if args.upload:
                for created in objects_created(event):
                    stack.client("s3").upload_file(str(args.upload), created.bucket, created.key)
                stack.router.discard_pending()  # the event file stands for the upload's own notification
            try:
                result = function.invoke(event)
            except Exception as error:  # noqa: BLE001 - reported as Lambda reports an unhandled error
                print(json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}, indent=2))
                print(f"(log: {function.log_path})", file=sys.stderr)
                return 1
            print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
            stack.deliver_pending()  # what the function published: notices on their way to Slack
            for message in sink.messages if sink else []:
                print(as_text(message))
            print(f"(log: {function.log_path})", file=sys.stderr)
    finally:
        if sink is not None:
            sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
