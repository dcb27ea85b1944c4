"""template.yaml agrees with the code and the docs (issue 13, item 5): what `sam deploy` would get wrong
only in AWS, caught here.

* every function's ``Handler`` is a callable of a module inside its ``CodeUri``, importing nothing a
  deployed function does not have (the standard library, the layer and the layer's requirements);
* docs/api.md and the template name the same routes;
* every variable a function needs in AWS is set in its environment (or Globals'), every variable a function
  sets is one it needs, and each one needed is a setting its code reads (:data:`NEEDS`, below);
* every secret ARN and KMS key a function's environment names is granted by its policies, and no policy
  anywhere has ``Resource: "*"`` except the KMS key policy's statement for the account root.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from oss_tldr.settings import _META, Settings, _Variable
from tools.lambda_local import ROOT, functions, load_module, load_routes, load_template

LAYER = ROOT / "layers" / "common"
API_DOC = ROOT / "docs" / "api.md"
FUNCTIONS = functions()

# What each function needs set in AWS (defaults that hold everywhere are not listed): the one place to edit
# when a function starts reading a setting. Checked both ways against the template, and against the code.
_DATABASE = {"DB_PROXY_ENDPOINT", "DB_NAME", "DB_USER", "DB_PORT"}
_SESSIONS = {"CORS_ALLOW_ORIGINS", "ADMIN_LOGINS", "JWT_SECRET_ARN", "TOKEN_KMS_KEY_ID"}
_OPENAI = {"OPENAI_API_KEY_ARN", "OPENAI_MODEL"}
NEEDS: dict[str, set[str]] = {
    "HealthFunction": _DATABASE | {"CORS_ALLOW_ORIGINS", "ADMIN_LOGINS"},
    "AuthFunction": _DATABASE
    | _SESSIONS
    | {"GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET_ARN", "OAUTH_REDIRECT_URI"},
    "ReposFunction": _DATABASE | _SESSIONS,
    "ReportsFunction": _DATABASE
    | _SESSIONS
    | _OPENAI
    | {
        "REPORT_WAIT_SECONDS",
        "REPORT_LEASE_SECONDS",
        "PRIVATE_ACCESS_TTL_SECONDS",
        "FORCE_DAILY_QUOTA",
        "REPORT_QUEUE_URL",
    },
    "ReportWorkerFunction": _DATABASE
    | _OPENAI
    | {
        "TOKEN_KMS_KEY_ID",  # decrypt the asker's GitHub token; no session keys (it authenticates nobody)
        "REPORT_LEASE_SECONDS",
        "PRIVATE_ACCESS_TTL_SECONDS",
        "REPORT_QUEUE_URL",
        "REPORT_QUEUE_MAX_RECEIVES",
        "REPORT_QUEUE_RETRY_SECONDS",
    },
    "CleanupFunction": _DATABASE | {"RETENTION_DAYS"},
    "WarmingFunction": _DATABASE
    | _OPENAI
    | {
        "GITHUB_TOKEN_ARN",
        "REPORT_LEASE_SECONDS",
        "WARMING_MAX_REPOSITORIES",
        "WARMING_MAX_GITHUB_POINTS",
        "WARMING_MAX_LLM_REQUESTS",
        "WARMING_LOOKBACK_DAYS",
    },
    "WebhooksFunction": _DATABASE | {"CORS_ALLOW_ORIGINS", "ADMIN_LOGINS", "GITHUB_WEBHOOK_SECRET_ARN"},
    # The deploy's migrations and the application role (issue 13 item 1): the cluster endpoint, not the proxy.
    "MigrationFunction": _DATABASE
    | {
        "DB_CLUSTER_ENDPOINT",
        "DB_MASTER_SECRET_ARN",
        "DB_APP_SECRET_ARN",
        "DB_STATEMENT_TIMEOUT_MS",
        "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
    },
    "DeepDiveFunction": _DATABASE
    | _SESSIONS
    | _OPENAI
    | {"PRIVATE_ACCESS_TTL_SECONDS", "DEEPDIVE_DAILY_QUOTA", "DIFF_DAILY_QUOTA", "DEEPDIVE_FRESH_SECONDS"},
}
# Read by Powertools itself, not by the layer's settings.
POWERTOOLS = re.compile(r"^POWERTOOLS_[A-Z_]+$")


def _globals_env() -> dict[str, Any]:
    return (
        ((load_template().get("Globals") or {}).get("Function") or {})
        .get("Environment", {})
        .get("Variables", {})
    )


def _own_env(logical_id: str) -> dict[str, Any]:
    return (FUNCTIONS[logical_id].get("Environment") or {}).get("Variables") or {}


def _env(logical_id: str) -> dict[str, Any]:
    return {**_globals_env(), **_own_env(logical_id)}


# --------------------------------------------------------------------------------------------- handlers


def _layer_requirements() -> set[str]:
    names = set()
    for line in (LAYER / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==", line)
        if match:
            names.add(match.group(1).lower().replace("-", "_"))
    return names


# Distribution name -> the top-level module it installs, where they differ.
_MODULE_OF = {"pyjwt": "jwt", "aws_lambda_powertools": "aws_lambda_powertools", "python_dateutil": "dateutil"}


def _top_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_handler_is_a_callable_in_its_code_uri(logical_id):
    props = FUNCTIONS[logical_id]
    code_uri = ROOT / props["CodeUri"]
    module_name, _, attr = props["Handler"].rpartition(".")
    source = code_uri / f"{module_name.replace('.', '/')}.py"
    assert code_uri.is_dir() and source.is_file(), f"{props['Handler']} is not a module in {props['CodeUri']}"
    assert callable(getattr(load_module(logical_id), attr, None)), f"{props['Handler']} is not a callable"
    # What the package holds: the CodeUri's own modules, the layer (oss_tldr and its requirements), stdlib.
    available = {"oss_tldr"} | {_MODULE_OF.get(name, name) for name in _layer_requirements()}
    available |= {path.stem for path in code_uri.glob("*.py")} | set(sys.stdlib_module_names)
    for path in code_uri.rglob("*.py"):
        missing = _top_level_imports(path) - available
        assert not missing, f"{path.relative_to(ROOT)} imports what a deployed function lacks: {missing}"


def test_the_handler_check_knows_the_layers_requirements():
    """The check above cannot pass by an empty list: the layer's main requirements are read."""
    assert {
        "sqlalchemy",
        "psycopg",
        "httpx",
        "boto3",
        "pydantic",
        "aws_lambda_powertools",
    } <= _layer_requirements()
    assert "tools" not in _layer_requirements() and "yaml" not in _layer_requirements()


# ------------------------------------------------------------------------------------------ docs/api.md

_DOC_ROW = re.compile(r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`?]+)[^`]*`")


def documented_routes(text: str) -> set[tuple[str, str]]:
    """(method, path) of every row of docs/api.md's route tables; paths under /api/v1 unless absolute."""
    routes = set()
    for line in text.splitlines():
        match = _DOC_ROW.match(line)
        if match:
            method, path = match.groups()
            routes.add((method, path if path.startswith("/webhooks/") else f"/api/v1{path}"))
    return routes


def _same_route(doc: tuple[str, str], route: Any) -> bool:
    """A documented path matches a template route when its parameters ({id}) or concrete segments (prs)
    fill the template's parameters ({report_id}, {section})."""
    method, path = doc
    return method == route.method and route.match(re.sub(r"\{\w+\}", "x", path)) is not None


def test_every_route_in_the_api_doc_is_in_the_template_and_the_reverse():
    documented = documented_routes(API_DOC.read_text())
    routes = load_routes()
    assert len(documented) >= 25 and len(routes) >= 25
    undocumented = [
        route.route_key for route in routes if not any(_same_route(doc, route) for doc in documented)
    ]
    unrouted = [doc for doc in documented if not any(_same_route(doc, route) for route in routes)]
    assert undocumented == [], "in template.yaml, not in docs/api.md"
    assert unrouted == [], "in docs/api.md, not in template.yaml"


def test_the_route_agreement_would_see_a_missing_route():
    documented = documented_routes(API_DOC.read_text())
    assert ("GET", "/api/v1/reports/{owner}/{repo}/prs") in documented
    assert ("POST", "/webhooks/github") in documented
    section = next(route for route in load_routes() if route.path.endswith("{section}"))
    assert _same_route(("GET", "/api/v1/reports/{owner}/{repo}/tldr"), section)
    assert not _same_route(("POST", "/api/v1/reports/{owner}/{repo}/tldr"), section)
    assert not _same_route(("GET", "/api/v1/reports/{owner}/{repo}"), section)


# ---------------------------------------------------------------------------------------- environment


def _settings_variables() -> dict[str, set[str]]:
    """Settings field -> the variables it reads."""
    return {
        spec.name: set(spec.metadata[_META].names)
        for spec in dataclasses.fields(Settings)
        if isinstance(spec.metadata[_META], _Variable)
    }


def _module_file(name: str) -> Path | None:
    base = LAYER / Path(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _layer_imports(path: Path) -> set[str]:
    """oss_tldr modules a file imports anywhere (deferred imports in functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    modules = set()
    for name in names:
        parts = name.split(".")
        if parts[0] == "oss_tldr":
            modules |= {
                ".".join(parts[:i]) for i in range(1, len(parts) + 1) if _module_file(".".join(parts[:i]))
            }
    return modules


def settings_read(logical_id: str) -> set[str]:
    """The variables behind every Settings field (or method using one) that the function's module, and
    every layer module it can import, mentions as an attribute: an over-approximation of what it reads."""
    fields = _settings_variables()
    methods: dict[str, set[str]] = {}
    settings_tree = ast.parse((LAYER / "oss_tldr" / "settings.py").read_text())
    for cls in (n for n in settings_tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings"):
        for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
            methods[fn.name] = {
                n.attr for n in ast.walk(fn) if isinstance(n, ast.Attribute) and n.attr in fields
            }
    start = ROOT / FUNCTIONS[logical_id]["CodeUri"] / "app.py"
    seen: set[str] = set()
    todo = sorted(_layer_imports(start))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += sorted(_layer_imports(_module_file(name)) - seen)  # type: ignore[arg-type]
    files = [start] + [_module_file(name) for name in seen if name != "oss_tldr.settings"]
    used: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):  # type: ignore[union-attr]
            if isinstance(node, ast.Attribute):
                used |= {node.attr} & set(fields) | methods.get(node.attr, set())
    return {variable for field in used for variable in fields[field]}


def test_the_needs_table_names_every_function():
    assert set(NEEDS) == set(FUNCTIONS)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_variable_a_function_needs_is_set_and_every_one_it_sets_is_needed(logical_id):
    env = _env(logical_id)
    assert NEEDS[logical_id] - set(env) == set(), "needed but not set in template.yaml"
    own = {name for name in _own_env(logical_id) if not POWERTOOLS.match(name)}
    assert own - NEEDS[logical_id] == set(), (
        "set in template.yaml but not needed (add it to NEEDS, or drop it)"
    )
    assert "POWERTOOLS_SERVICE_NAME" in _own_env(logical_id)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_variable_a_function_needs_is_a_setting_its_code_reads(logical_id):
    assert NEEDS[logical_id] - settings_read(logical_id) == set()


def test_the_code_reading_analysis_tells_functions_apart():
    assert "REPORT_QUEUE_MAX_RECEIVES" in settings_read("ReportWorkerFunction")
    assert "WARMING_MAX_REPOSITORIES" in settings_read("WarmingFunction")
    assert "WARMING_MAX_REPOSITORIES" not in settings_read("ReportsFunction")
    assert "GITHUB_WEBHOOK_SECRET_ARN" not in settings_read("CleanupFunction")
    assert "ADMIN_LOGINS" in settings_read("ReposFunction")  # through Settings.is_admin


# ------------------------------------------------------------------------------------------- policies


def _walk(value: Any) -> Any:
    """Every mapping inside ``value`` (lists, Fn::If branches included)."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _statements(document: Any) -> list[dict[str, Any]]:
    return [
        node for node in _walk(document) if "Effect" in node and ("Action" in node or "NotAction" in node)
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_statements(logical_id: str) -> list[dict[str, Any]]:
    """The statements of a function's policies, its managed policies' (by Ref) included."""
    resources = load_template()["Resources"]
    found = []
    for policy in _as_list(FUNCTIONS[logical_id].get("Policies") or []):
        for node in _walk(policy):
            ref = node.get("Ref")
            if isinstance(ref, str) and resources.get(ref, {}).get("Type") == "AWS::IAM::ManagedPolicy":
                found += _statements(resources[ref]["Properties"]["PolicyDocument"])
        found += _statements(policy)
    return found


def _grants(statements: list[dict[str, Any]], actions: set[str], resource: Any) -> bool:
    granted: set[str] = set()
    for st in statements:
        if st["Effect"] == "Allow" and resource in _as_list(st.get("Resource")):
            granted |= set(_as_list(st.get("Action")))
    return actions <= granted


def _sensitive_variables(logical_id: str) -> dict[str, tuple[set[str], Any]]:
    """Variable -> (actions it needs, the resource it names) for the secrets and keys of an environment."""
    out = {}
    for name, value in _env(logical_id).items():
        if name.endswith("_SECRET_ARN") or name.endswith("_KEY_ARN") or name.endswith("_TOKEN_ARN"):
            out[name] = ({"secretsmanager:GetSecretValue"}, value)
        elif name == "TOKEN_KMS_KEY_ID":
            # the worker only opens the asker's stored token; the others (sign-in) may seal one too
            opens_only = logical_id == "ReportWorkerFunction"
            out[name] = ({"kms:Decrypt"} if opens_only else {"kms:GenerateDataKey", "kms:Decrypt"}, value)
        elif name == "REPORT_QUEUE_URL":
            queue = value["Ref"]
            sends = (
                {"sqs:SendMessage"} if logical_id == "ReportsFunction" else {"sqs:ChangeMessageVisibility"}
            )
            out[name] = (sends, {"Fn::GetAtt": f"{queue}.Arn"})
    return out


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_secret_and_key_a_function_names_is_in_its_policies(logical_id):
    statements = function_statements(logical_id)
    for name, (actions, resource) in _sensitive_variables(logical_id).items():
        assert _grants(statements, actions, resource), f"{name} ({resource}) is not granted {actions}"


def test_the_sensitive_variables_are_found():
    assert set(_sensitive_variables("AuthFunction")) >= {
        "JWT_SECRET_ARN",
        "TOKEN_KMS_KEY_ID",
        "GITHUB_CLIENT_SECRET_ARN",
    }
    assert set(_sensitive_variables("WarmingFunction")) >= {"GITHUB_TOKEN_ARN", "OPENAI_API_KEY_ARN"}
    assert not _grants(
        function_statements("CleanupFunction"), {"secretsmanager:GetSecretValue"}, {"Ref": "JwtSigningKeys"}
    )


def _all_policy_statements() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical_id, resource in load_template()["Resources"].items():
        props = resource.get("Properties") or {}
        for key in ("Policies", "PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            found += [(logical_id, st) for st in _statements(props.get(key))]
    return found


def test_no_policy_grants_every_resource_but_the_key_policys_account_root():
    statements = _all_policy_statements()
    assert len(statements) >= 20
    wildcard = [
        (logical_id, st.get("Sid"))
        for logical_id, st in statements
        if any(resource == "*" or resource == ["*"] for resource in _as_list(st.get("Resource")))
    ]
    key = load_template()["Resources"]["TokenEncryptionKey"]["Properties"]["KeyPolicy"]["Statement"]
    root = [st for st in key if st.get("Resource") == "*"]
    assert wildcard == [("TokenEncryptionKey", "AccountAdministration")]
    assert root[0]["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}


# SAM event types whose managed policy grants on every resource of its kind (AWSLambdaSQSQueueExecutionRole:
# sqs:ReceiveMessage and DeleteMessage on "*"): their triggers are declared as event source mappings.
_BROAD_EVENT_TYPES = {"SQS", "Kinesis", "DynamoDB", "MSK", "MQ", "SelfManagedKafka", "DocumentDB"}


def test_no_function_event_brings_a_managed_policy_on_every_queue_and_the_worker_polls_only_its_own():
    for logical_id, props in FUNCTIONS.items():
        types = {event["Type"] for event in (props.get("Events") or {}).values()}
        assert not types & _BROAD_EVENT_TYPES, f"{logical_id}: {types & _BROAD_EVENT_TYPES}"
    resources = load_template()["Resources"]
    mappings = [r for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    [mapping] = [r["Properties"] for r in mappings]
    assert mapping["FunctionName"] == {"Ref": "ReportWorkerFunction"}
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": "ReportQueue.Arn"}
    assert mapping["BatchSize"] == 1 and mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    polling = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    statements = function_statements("ReportWorkerFunction")
    assert _grants(statements, polling, mapping["EventSourceArn"])


# What CloudFormation would render, for the intrinsics the policies use (the proxy's ARN is an example).
_PROXY_ARN = "arn:aws:rds:us-east-1:111122223333:db-proxy:prx-0123456789abcdef0"
_PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "111122223333"}


def _render(value: Any, names: dict[str, str] | None = None) -> Any:
    names = {**_PSEUDO, "DatabaseProxy.DBProxyArn": _PROXY_ARN, **(names or {})}
    if isinstance(value, str):
        return value
    if "Fn::Sub" in value:
        body, extra = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        names |= {key: _render(item) for key, item in extra.items()}
        return re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], body)
    if "Fn::Select" in value:
        index, items = value["Fn::Select"]
        return _render(items)[index]
    if "Fn::Split" in value:
        separator, item = value["Fn::Split"]
        return _render(item).split(separator)
    if "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return names[target if isinstance(target, str) else ".".join(target)]
    raise AssertionError(f"no rendering for {value}")


# The migration function signs in as the master user with its secret, at the cluster (not through the proxy).
_PROXY_USERS = sorted(
    name for name, needs in NEEDS.items() if needs >= _DATABASE and name != "MigrationFunction"
)


@pytest.mark.parametrize("logical_id", _PROXY_USERS)
def test_a_function_that_connects_through_the_proxy_may_as_its_database_user(logical_id):
    """IAM's db-user resource is ``arn:…:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<user>``, and a
    proxy's resource id is the ``prx-…`` that ends its ARN: an ARN in its place is accepted by IAM and
    matches no connection (every IAM-token sign-in refused)."""
    [resource] = [
        _render(resource)
        for st in function_statements(logical_id)
        if st["Effect"] == "Allow" and "rds-db:connect" in _as_list(st["Action"])
        for resource in _as_list(st["Resource"])
    ]
    user = _env(logical_id)["DB_USER"]
    assert resource == f"arn:aws:rds-db:us-east-1:111122223333:dbuser:prx-0123456789abcdef0/{user}"


# ------------------------------------------------------------------------------------------ SnapStart


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_the_api_functions_and_only_they_resume_from_snapstart_snapshots_through_an_alias(logical_id):
    """Their routes then invoke the alias (``sam validate`` translates them so) and oss_tldr.api.snapstart's
    hooks, registered by every API entry point, refresh connections, tokens and secrets after a restore."""
    props = FUNCTIONS[logical_id]
    api = logical_id in {route.function for route in load_routes()}
    assert (props.get("SnapStart") == {"ApplyOn": "PublishedVersions"}) is api
    assert (props.get("AutoPublishAlias") == "live") is api
