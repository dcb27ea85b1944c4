"""template.yaml runs the migration function on every deploy that needs it, before the code that needs
the schema, with what it needs and nothing broader; its package holds the migrations and alembic."""

from __future__ import annotations

from pathlib import Path

from oss_tldr.db.migrate import head_revision
from tools.lambda_local import functions, load_template

ROOT = Path(__file__).resolve().parents[2]


def _resources():
    return load_template()["Resources"]


def test_the_custom_resource_names_the_head_of_migrations_so_a_new_revision_updates_it():
    props = _resources()["DatabaseMigration"]["Properties"]
    assert props["MigrationHead"] == head_revision()
    assert props["ServiceToken"] == {"Fn::GetAtt": "MigrationFunction.Arn"}


def test_a_new_layer_runs_the_migration_function_too_and_a_run_is_never_retried_behind_the_deploy():
    """The role's definition (oss_tldr.db.app_role) is layer code: a change to it must reach the database
    on the deploy that ships it, not on the next new revision. And a run that timed out is not retried by
    Lambda (CloudFormation invokes asynchronously) after CloudFormation gave up on it."""
    resources = _resources()
    assert resources["DatabaseMigration"]["Properties"]["Layer"] == {"Ref": "CommonLayer"}
    layers = functions()["MigrationFunction"].get("Layers", load_template()["Globals"]["Function"]["Layers"])
    assert {"Ref": "CommonLayer"} in layers
    assert resources["MigrationFunction"]["Properties"]["EventInvokeConfig"] == {"MaximumRetryAttempts": 0}


def test_the_role_settings_the_resource_carries_are_the_functions_own():
    props = _resources()["DatabaseMigration"]["Properties"]
    env = functions()["MigrationFunction"]["Environment"]["Variables"]
    assert props["StatementTimeoutMs"] == env["DB_STATEMENT_TIMEOUT_MS"]
    assert props["IdleInTransactionTimeoutMs"] == env["DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"]


def test_the_migration_runs_after_the_database_instance_and_before_every_function_using_the_schema():
    resources = _resources()
    assert "DatabaseInstance" in resources["DatabaseMigration"]["DependsOn"]
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function" and name != "MigrationFunction":
            assert resource.get("DependsOn") == "DatabaseMigration", name
    assert "DependsOn" not in resources["MigrationFunction"]


def test_the_migration_function_reaches_the_cluster_with_the_master_secret_and_nothing_broader():
    resources = _resources()
    props = resources["MigrationFunction"]["Properties"]
    env = props["Environment"]["Variables"]
    assert env["DB_CLUSTER_ENDPOINT"] == {"Fn::GetAtt": "DatabaseCluster.Endpoint.Address"}  # not the proxy
    assert env["DB_MASTER_SECRET_ARN"] == {"Ref": "DatabaseSecret"}
    assert env["DB_APP_SECRET_ARN"] == {"Ref": "AppUserSecret"}
    statements = [s for policy in props["Policies"] for s in policy["Statement"]]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [{"Ref": "DatabaseSecret"}, {"Ref": "AppUserSecret"}],
        }
    ]
    assert props["VpcConfig"]["SecurityGroupIds"] == [{"Ref": "MigrationSecurityGroup"}]
    sources = [
        rule["SourceSecurityGroupId"]
        for rule in resources["DatabaseSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    ]
    assert sources == [{"Ref": "ProxySecurityGroup"}, {"Ref": "MigrationSecurityGroup"}]


def test_the_function_package_holds_the_migrations_alembic_ini_and_alembic():
    code = ROOT / functions()["MigrationFunction"]["CodeUri"]
    assert (code / "app.py").is_file()
    assert (code / "alembic.ini").resolve() == ROOT / "alembic.ini"
    assert (code / "migrations").resolve() == ROOT / "migrations"
    assert head_revision(code) == head_revision()
    requirements = (code / "requirements.txt").read_text()
    assert "\nalembic==" in requirements and "\nmako==" in requirements
