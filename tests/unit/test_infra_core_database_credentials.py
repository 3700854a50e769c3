"""The shop's database credentials in the templates: the app tier logs in as shop_app with IAM
tokens and never sees the master secret; the migrations run as the owner in a task of their own,
which the services pipeline runs before it updates the services; the load balancer asks readiness,
the container liveness."""

from __future__ import annotations

import json
from typing import Any

from local_stack.template import ROOT
from tests.infra_core_templates import CHILDREN, PLATFORM, as_list, statements

COMPUTE = CHILDREN["Compute"]["Resources"]
CICD = CHILDREN["Cicd"]["Resources"]


def _container(task: str) -> dict[str, Any]:
    (container,) = COMPUTE[task]["Properties"]["ContainerDefinitions"]
    return dict(container)


def _environment(container: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}


def _policy_statements(role: str) -> list[dict[str, Any]]:
    return [s for p in COMPUTE[role]["Properties"].get("Policies", []) for s in statements(p["PolicyDocument"])]


def test_the_database_has_iam_authentication_and_its_resource_id_reaches_the_compute_stack() -> None:
    database = CHILDREN["Database"]
    assert database["Resources"]["Database"]["Properties"]["EnableIAMDatabaseAuthentication"] is True
    assert database["Outputs"]["DatabaseResourceId"]["Value"] == {"Fn::GetAtt": ["Database", "DbiResourceId"]}
    wired = PLATFORM["Resources"]["Compute"]["Properties"]["Parameters"]
    assert wired["DatabaseResourceId"] == {"Fn::GetAtt": ["Database", "Outputs.DatabaseResourceId"]}


def test_the_app_logs_in_as_shop_app_with_iam_tokens_and_never_holds_the_master_secret() -> None:
    # GIVEN the app's task definition and roles
    app = _container("AppTaskDefinition")
    env = _environment(app)
    # THEN it is told its role and IAM auth over verified TLS, and given no secret at all
    assert env["DATABASE_USER"] == "shop_app" and env["DATABASE_IAM_AUTH"] == "true"
    assert env["DATABASE_SSLMODE"] == "verify-full"
    assert "Secrets" not in app and "DATABASE_PASSWORD" not in env
    # AND its task role may connect as shop_app on this database only; nothing of the app's reads a secret
    (connect,) = [s for s in _policy_statements("AppTaskRole") if "rds-db:connect" in as_list(s["Action"])]
    assert connect["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:${DatabaseResourceId}/shop_app"
    }
    for role in ("AppTaskRole", "TaskExecutionRole"):
        actions = {a for s in _policy_statements(role) for a in as_list(s["Action"])}
        assert not {a for a in actions if a.startswith("secretsmanager:")}, role


def test_migrations_run_as_the_owner_in_a_task_of_their_own_before_the_services_are_updated() -> None:
    # GIVEN the migration task: the app's image, the pre-start as its command, the master secret through ECS
    migrate = _container("MigrationTaskDefinition")
    assert migrate["Command"] == ["python", "-m", "shop.app.prestart"]
    assert {s["Name"] for s in migrate["Secrets"]} == {"DATABASE_USER", "DATABASE_PASSWORD"}
    assert all("DatabaseSecretArn" in json.dumps(s["ValueFrom"]) for s in migrate["Secrets"])
    execution = COMPUTE["MigrationTaskDefinition"]["Properties"]["ExecutionRoleArn"]
    assert execution == {"Fn::GetAtt": ["MigrationTaskExecutionRole", "Arn"]}
    # THEN the services pipeline runs it after the images are built and before either service is deployed
    stages = [stage["Name"] for stage in CICD["ServicesPipeline"]["Properties"]["Stages"]]
    assert stages.index("TestAndBuildImages") < stages.index("Migrate") < stages.index("DeployServices")
    buildspec = (ROOT / CICD["MigrateBuild"]["Properties"]["Source"]["BuildSpec"]).read_text(encoding="utf-8")
    assert "run-task" in buildspec and "tasks-stopped" in buildspec and "exitCode" in buildspec
    # AND the app image's own command is the server alone: no migration with the server's rights
    dockerfile = (ROOT / "shop" / "app" / "Dockerfile").read_text(encoding="utf-8")
    assert "ENTRYPOINT" not in dockerfile and 'CMD ["python", "-m", "shop.app.main"]' in dockerfile


def test_the_load_balancer_asks_readiness_patiently_and_the_container_liveness() -> None:
    target_group = COMPUTE["AppTargetGroup"]["Properties"]
    assert target_group["HealthCheckPath"] == {"Ref": "AppReadinessPath"}
    assert CHILDREN["Compute"]["Parameters"]["AppReadinessPath"]["Default"] == "/readyz"
    # A Multi-AZ fail-over (one to two minutes) must not make the tasks look unhealthy to ECS.
    assert target_group["HealthCheckIntervalSeconds"] * target_group["UnhealthyThresholdCount"] >= 150
    check = " ".join(json.dumps(part) for part in _container("AppTaskDefinition")["HealthCheck"]["Command"])
    assert "HealthCheckPath" in check and "AppReadinessPath" not in check
