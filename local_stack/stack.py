"""Bring shoplake up on this machine: `with LocalStack() as stack: ...`."""

from __future__ import annotations

import json
import logging
import os
import secrets
import urllib.request
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from moto.core.config import DefaultConfig
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local_stack.event_routing import EventRouter
from local_stack.firehose import LocalFirehose
from local_stack.function_url_server import FunctionUrlServer
from local_stack.functions import Invocation, LocalFunction, load_functions
from local_stack.glue_jobs import GlueRunner
from local_stack.iam import enforcement
from local_stack.iam.keys import encrypting_keys
from local_stack.iam.model import Ledger
from local_stack.iam.principals import EndpointSession, Principals, principals_of
from local_stack.iam.stepfunctions_roles import state_machine_tasks_as_role
from local_stack.moto_asl import validate_definitions_once
from local_stack.provision import REGION, Stack, provision
from local_stack.slack_sink import SlackSink
from local_stack.stepfunctions_events import ExecutionWatch
from local_stack.stepfunctions_glue import glue_runs_carried_out
from local_stack.template import ROOT, TEMPLATE_PATH, load_template, samconfig_parameters

# moto runs Step Functions definitions for real only when asked to.
MOTO_CONFIG: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}}
# The local Slack's workspace; with the sink, the Slack secret also holds a signing secret made for each stack.
LOCAL_SLACK_TEAM_ID = "T0LOCAL0001"
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


class LocalStack:
    """moto's server, the template's resources, and its functions wired to their events.

    Slack is `slack_sink` unless `slack_secret` (the secret's JSON, e.g. a real webhook) is given.
    With `server=False` moto runs in-process (`mock_aws`) instead of as a server: the same
    resources and routing, without the HTTP hop, for tests that need no endpoint.
    `template` (a parsed template) replaces the file at `template_path`, whose folder stays the
    base of its CodeUri paths: a test can run the stack with one statement removed.
    Every principal runs as its own role (`principals`); the calls they make go into `iam_ledger`,
    which is kept for `make iam-report`; a refusal there fails `make test` unless `expect_refusals`.
    """

    def __init__(
        self,
        *,
        config_env: str = "dev",
        parameters: Mapping[str, str] | None = None,
        slack_sink: SlackSink | None = None,
        slack_secret: Mapping[str, Any] | None = None,
        work_dir: Path = ROOT / ".local",
        server: bool = True,
        template_path: Path = TEMPLATE_PATH,
        template: Mapping[str, Any] | None = None,
        expect_refusals: bool = False,
    ) -> None:
        self.template_path = template_path
        self.template = template
        self.expect_refusals = expect_refusals  # a test that provokes AccessDenied on purpose says so
        defaults = samconfig_parameters(config_env) if template_path == TEMPLATE_PATH else {}
        self.parameters = {**defaults, **(parameters or {})}
        self.slack_sink = slack_sink
        self.slack_secret = slack_secret
        self.work_dir = work_dir
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False) if server else None
        self._mock = None if server else mock_aws(config=MOTO_CONFIG)
        self._open = ExitStack()  # what __enter__ started, stopped by __exit__ in the reverse order
        self.endpoint_url = ""
        self.session: boto3.Session
        self.stack: Stack
        self.functions: dict[str, LocalFunction]
        self.router: EventRouter
        self.principals: Principals
        self.iam_ledger = Ledger()
        self._url_servers: dict[str, FunctionUrlServer] = {}
        # What the Slack secret holds for the interactivity endpoint (None when the secret given has none).
        self.slack_signing_secret: str | None = None
        self.slack_team_id: str | None = None

    def __enter__(self) -> LocalStack:
        """Start moto (in-process or its server), provision the template, load the functions and wire them.

        Whatever `__enter__` started is stopped again if it fails part way (a template that cannot be
        provisioned, say): no moto mock, patch or environment variable outlives a stack that never came up.
        """
        self._open = ExitStack()
        try:
            return self._start(self._open)
        except BaseException:
            self._open.close()
            raise

    def _start(self, opened: ExitStack) -> LocalStack:
        validate_definitions_once()
        local_env = dict(LOCAL_CREDENTIALS)
        if self._server is not None:
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            self._server.start()
            opened.callback(self._server.stop)
            host, port = self._server.get_host_and_port()
            self.endpoint_url = f"http://{host}:{port}"
            # moto's backends live in this process: start from an empty account every time.
            reset = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
            urllib.request.urlopen(reset).close()  # noqa: S310 - our own moto server on loopback
            # moto runs Step Functions definitions for real only when asked to.
            configure = urllib.request.Request(  # noqa: S310 - our own moto server on loopback
                f"{self.endpoint_url}/moto-api/config",
                data=json.dumps(MOTO_CONFIG).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            urllib.request.urlopen(configure).close()  # noqa: S310
            local_env["AWS_ENDPOINT_URL"] = self.endpoint_url
            local_env["MOTO_PORT"] = str(port)  # where moto's Step Functions engine calls the services it integrates
        else:
            assert self._mock is not None
            self._mock.start()
            opened.callback(self._mock.stop)
        opened.callback(_restore_environment, dict(os.environ))
        os.environ.update(local_env)
        self.session = EndpointSession(
            self.endpoint_url or None,
            region_name=REGION,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
        )
        template = self.template if self.template is not None else load_template(self.template_path)
        self.stack = provision(self.session, template, self.parameters, self.template_path.parent)
        self._create_slack_secret()
        self.principals = principals_of(self.stack, self.session, LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"])
        enforcement.enter(self)
        opened.callback(enforcement.exit, self)
        self.iam_ledger.uses.extend(self.stack.provisioning_ledger.uses)  # the custom resources' calls
        self.functions = load_functions(self.stack, self.work_dir / "logs", local_env, self.principals)
        self.router = EventRouter(
            self.session, self.stack, self.functions, registry=self.principals, iam_ledger=self.iam_ledger
        )
        self.router.wire()
        self.glue = GlueRunner(
            self.session,
            self.stack,
            lake_dir=self.work_dir / "lake",
            principals=self.principals,
            iam_ledger=self.iam_ledger,
            keys=encrypting_keys(self.stack),
        )
        # A state machine's Glue tasks wait for their runs, which the local Glue carries out at once;
        # its other service integrations sign as the state machine's role.
        opened.enter_context(glue_runs_carried_out(self.glue.run_new))
        opened.enter_context(state_machine_tasks_as_role(self.principals))
        self.firehose = LocalFirehose(
            self.session, self.stack, self.functions, principals=self.principals, iam_ledger=self.iam_ledger
        )
        # Step Functions tells EventBridge when an execution starts and ends; moto does not.
        self.execution_events = ExecutionWatch(
            self.session.client("stepfunctions"),
            self.session.client("events"),
            [self.stack.ref(m) for m in self.stack.logical_ids_of_type("AWS::Serverless::StateMachine")],
        )
        opened.callback(self._stop_url_servers)  # the first to stop
        return self

    def __exit__(self, *exc: object) -> None:
        self._open.close()

    def _stop_url_servers(self) -> None:
        for server in self._url_servers.values():
            server.stop()

    def _create_slack_secret(self) -> None:
        # The one resource the template expects to exist already (docs/deploy.md, step 1: the Slack secret).
        name = self.stack.resolver.parameters.get("SlackSecretName")
        if name is None:
            return
        if self.slack_secret is not None:
            secret: Mapping[str, Any] = self.slack_secret
        elif self.slack_sink is not None:
            secret = {
                "bot_token": "xoxb-local-sink",
                "api_base_url": self.slack_sink.api_base_url,
                "signing_secret": secrets.token_hex(16),
                "team_id": LOCAL_SLACK_TEAM_ID,
            }
        else:
            raise ValueError("LocalStack needs a slack_sink or a slack_secret")
        self.slack_signing_secret = secret.get("signing_secret")
        self.slack_team_id = secret.get("team_id")
        self.session.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps(secret))

    def function_url(self, logical_id: str) -> str:
        """The loopback URL (`http://127.0.0.1:<port>/`) answering as `logical_id`'s function URL does in AWS:
        each request judged against the function's resource policy, made a payload 2.0 event, and run as its
        role (local_stack.function_url_server). Started at first use, stopped with the stack.

        Raises KeyError for a function the template gives no FunctionUrlConfig.
        """
        if logical_id not in self._url_servers:
            config = self.stack.properties[logical_id].get("FunctionUrlConfig")
            if not config:
                raise KeyError(f"{logical_id} has no function URL in the template")
            self._url_servers[logical_id] = FunctionUrlServer(
                self.functions[logical_id],
                self.stack.attr(f"{logical_id}Url", "FunctionUrl"),
                auth_type=str(config.get("AuthType", "NONE")),
                registry=self.principals,
                ledger=self.iam_ledger,
            ).start()
        return self._url_servers[logical_id].url

    def output(self, name: str) -> Any:
        return self.stack.outputs()[name]

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def task_client(self, service: str, task_role: str = "AppTaskRole") -> Any:
        """A client for the shop's code, signing as its ECS task role (the app tier's unless told)."""
        return self.principals.session(task_role).client(service)

    def fire_state_machine_schedule(
        self, schedule: str, *, state_machine: str = "NightlyEtlStateMachine", name: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> str:  # fmt: skip
        """What EventBridge Scheduler does when the state machine's `schedule` event fires: start an execution
        as the schedule's role (`<state machine><schedule>`), with the schedule's input unless `payload` is given.
        Returns the execution ARN. Raises KeyError for a schedule the translated template does not have."""
        principal = f"{state_machine}{schedule}"
        target = self.stack.translated["Resources"][principal]["Properties"]["Target"]
        text = (
            json.dumps(payload) if payload is not None else str(self.stack.resolver.resolve(target.get("Input", "{}")))
        )
        args = {"stateMachineArn": self.stack.ref(state_machine), "input": text} | ({"name": name} if name else {})
        started = self.principals.session(principal).client("stepfunctions").start_execution(**args)
        return str(started["executionArn"])

    def deliver_pending(self) -> list[Invocation]:
        """Deliver every pending event and carry out every started Glue job run, until all is quiet."""
        self.execution_events.emit_new()
        delivered = self.router.deliver_pending()
        while (
            self.glue.run_new() or any(d.records_in for d in self.firehose.flush()) or self.execution_events.emit_new()
        ):
            delivered += self.router.deliver_pending()
        return delivered


def _restore_environment(saved: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(saved)
