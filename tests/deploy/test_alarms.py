"""Alarms and the dashboard (issue 13, item 3): every metric they read is an AWS one or one the code emits
in the OssTldr namespace, with the dimensions it is emitted with; and the code does emit the metrics
added for them (Http5xx, GenerationFailed, GitHubRateLimitRemaining)."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import time
from typing import Any

import pytest
from helpers import ORIGIN

from oss_tldr.api import create_app, lambda_entrypoint
from oss_tldr.api.auth import Access
from oss_tldr.errors import DatabaseUnavailable, UpstreamUnavailable
from oss_tldr.github import client as client_module
from oss_tldr.github.client import GitHubClient
from oss_tldr.observability import NAMESPACE, metrics
from oss_tldr.reports.cache import get_or_generate
from oss_tldr.reports.models import Fingerprint
from tools.lambda_local import ROOT, FakeLambdaContext, http_event, load_routes, load_template

RESOURCES = load_template()["Resources"]
ALARMS = {k: v["Properties"] for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
API_FUNCTIONS = sorted({route.function for route in load_routes()})
SERVICE = [{"Name": "service", "Value": "oss-tldr"}]  # what Powertools' Metrics(service=...) adds
# The AWS metrics the alarms and the dashboard may read, by namespace, with the dimension each needs and
# the kind of resource that dimension names.
AWS_METRICS = {
    "AWS/Lambda": (
        {"Errors", "Invocations", "Duration", "Throttles"},
        "FunctionName",
        "AWS::Serverless::Function",
    ),
    "AWS/SQS": (
        {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"},
        "QueueName",
        "AWS::SQS::Queue",
    ),
    "AWS/ApiGateway": ({"5xx", "Count"}, "ApiId", "AWS::Serverless::HttpApi"),
    "AWS/RDS": (
        {"ClientConnections", "DatabaseConnections", "DatabaseConnectionsCurrentlySessionPinned"},
        "ProxyName",
        "AWS::RDS::DBProxy",
    ),
}
_EMITTERS = {"add_metric", "_metric", "_count", "count_for_function"}


def emitted_metrics() -> set[str]:
    """Every metric name the layer passes to a metric call (``add_metric(name=...)`` and the modules' small
    wrappers), found in its source."""
    names = set()
    for path in (ROOT / "layers" / "common" / "oss_tldr").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called not in _EMITTERS:
                continue
            args = [kw.value for kw in node.keywords if kw.arg == "name"] or node.args[:1]
            for arg in args:
                names |= {
                    n.value for n in ast.walk(arg) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                }
    return names


def _resource_of(value: Any) -> str | None:
    """The logical id a dimension value points at (``!Ref X``, ``!GetAtt X.QueueName``, ``${X}``)."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"]).split(".")[0]
    if isinstance(value, str) and (match := re.fullmatch(r"\$\{(\w+)(\.\w+)?\}", value)):
        return match.group(1)
    return None


def check_metric(namespace: str, name: str, dimensions: list[dict[str, Any]]) -> None:
    if namespace == NAMESPACE:
        assert name in emitted_metrics(), f"{name}: not a metric the code emits"
        if name == "Http5xx":
            function, *service = dimensions
            assert function["Name"] == "FunctionName" and service == SERVICE, f"{name}: {dimensions}"
            assert RESOURCES[_resource_of(function["Value"])]["Type"] == "AWS::Serverless::Function"
        else:
            assert dimensions == SERVICE, f"{name}: the code emits it with the service dimension only"
        return
    assert namespace in AWS_METRICS, f"{namespace}: neither OssTldr nor a known AWS namespace"
    known, dimension_name, resource_type = AWS_METRICS[namespace]
    assert name in known, f"{namespace} {name}: not an AWS metric this file knows"
    [dimension] = dimensions
    assert dimension["Name"] == dimension_name
    assert RESOURCES[_resource_of(dimension["Value"])]["Type"] == resource_type


def alarm_metrics(props: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    if "MetricName" in props:
        return [(props["Namespace"], props["MetricName"], props.get("Dimensions", []))]
    found = []
    for query in props["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            found.append((metric["Namespace"], metric["MetricName"], metric.get("Dimensions", [])))
        else:
            assert query.get("ReturnData", True), "the expression is what the alarm compares"
            ids = {q["Id"] for q in props["Metrics"] if "MetricStat" in q}
            assert set(re.findall(r"\b[a-z]\w*\b", query["Expression"])) - {"IF"} <= ids
    return found


def dashboard_metrics() -> list[tuple[str, str, list[dict[str, Any]]]]:
    body = json.loads(RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    found = []
    for widget in body["widgets"]:
        for row in widget["properties"].get("metrics", []):
            fields = [item for item in row if not isinstance(item, dict)]
            namespace, name, rest = fields[0], fields[1], fields[2:]
            found.append(
                (
                    namespace,
                    name,
                    [{"Name": k, "Value": v} for k, v in zip(rest[::2], rest[1::2], strict=True)],
                )
            )
        for arn in widget["properties"].get("alarms", []):
            assert RESOURCES[_resource_of(arn)]["Type"] == "AWS::CloudWatch::Alarm"
    return found


def test_the_emitted_metrics_are_found_in_the_code():
    assert {
        "GitHubCalls",
        "LLMTokens",
        "CacheHit",
        "StaleHit",
        "GenerationFailed",
        "Http5xx",
    } <= emitted_metrics()
    assert "GitHubRateLimitRemaining" in emitted_metrics()


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_every_alarm_reads_a_metric_the_code_emits_or_an_aws_one(alarm):
    for namespace, name, dimensions in alarm_metrics(ALARMS[alarm]):
        check_metric(namespace, name, dimensions)


def test_every_dashboard_metric_is_one_the_code_emits_or_an_aws_one():
    found = dashboard_metrics()
    assert len(found) >= 25
    for namespace, name, dimensions in found:
        check_metric(namespace, name, dimensions)


def test_the_check_refuses_what_no_code_emits():
    with pytest.raises(AssertionError):
        check_metric(NAMESPACE, "GenerationFailures", SERVICE)
    with pytest.raises(AssertionError):
        check_metric(NAMESPACE, "GenerationFailed", [])  # emitted with its service dimension
    with pytest.raises(AssertionError):
        check_metric("AWS/Lambda", "Errors", [{"Name": "FunctionName", "Value": {"Ref": "ReportQueue"}}])


def test_what_the_issue_asks_is_alarmed_and_every_alarm_notifies_the_topic_when_there_is_one():
    read = {name for props in ALARMS.values() for _, name, _ in alarm_metrics(props)}
    assert {
        "Http5xx",
        "GenerationFailed",
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "ClientConnections",
        "DatabaseConnectionsCurrentlySessionPinned",
        "GitHubRateLimitRemaining",
        "LLMTokens",
    } <= read
    assert {f"{function}ErrorRateAlarm" for function in API_FUNCTIONS} <= set(ALARMS)
    # and the gateway's own 5xx (an integration past the HTTP API's 30 s), which no function sees
    assert ("AWS/ApiGateway", "5xx") in {
        (ns, name) for ns, name, _ in alarm_metrics(ALARMS["HttpApi5xxRateAlarm"])
    }
    queues = {_resource_of(d["Value"]) for p in ALARMS.values() for _, _, ds in alarm_metrics(p) for d in ds}
    assert {"ReportDeadLetterQueue", "SchedulerDeadLetterQueue", "ReportQueue"} <= queues
    topic = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    assert all(props["AlarmActions"] == topic and props["OKActions"] == topic for props in ALARMS.values())
    assert load_template()["Parameters"]["AlarmTopicArn"]["Default"] == ""


# ------------------------------------------------------------------------ the metrics the code emits


def _blobs(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_a_5xx_answer_counts_in_http5xx_for_its_function_and_a_2xx_does_not(capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "health")  # as the template sets it per function
    app = create_app()

    @app.get("/down")
    def down() -> dict[str, str]:
        raise DatabaseUnavailable()

    @app.get("/up")
    def up() -> dict[str, str]:
        return {"ok": "yes"}

    handler = lambda_entrypoint(app, {"GET /down": Access.PUBLIC, "GET /up": Access.PUBLIC})
    context = FakeLambdaContext("oss-tldr-HealthFunction-abc")
    assert handler(http_event("GET", "/up", headers={"origin": ORIGIN}), context)["statusCode"] == 200
    assert [b for b in _blobs(capsys.readouterr().out) if "Http5xx" in b] == []
    assert handler(http_event("GET", "/down", headers={"origin": ORIGIN}), context)["statusCode"] == 503
    [blob] = [b for b in _blobs(capsys.readouterr().out) if "Http5xx" in b]
    assert blob["FunctionName"] == "oss-tldr-HealthFunction-abc" and blob["Http5xx"] in (1, 1.0, [1.0])
    [emitted] = blob["_aws"]["CloudWatchMetrics"]
    assert emitted["Namespace"] == NAMESPACE
    # CloudWatch keeps one metric per dimension set: the alarms' (FunctionName and service=oss-tldr), not
    # the function's own POWERTOOLS_SERVICE_NAME, which Powertools would add unasked.
    assert emitted["Dimensions"] == [["FunctionName", "service"]] and blob["service"] == "oss-tldr"
    alarm = ALARMS["HealthFunctionErrorRateAlarm"]
    [(_, _, read)] = [m for m in alarm_metrics(alarm) if m[1] == "Http5xx"]
    assert [d["Name"] for d in read] == ["FunctionName", "service"] and read[1]["Value"] == blob["service"]


def test_github_answers_record_the_rate_limit_left(fake_github):
    fake_github.rate_limit_remaining = 4321
    fake_github.add_user("octo", "gho_rate_limit")
    metrics.clear_metrics()
    client = GitHubClient(fake_github.url, "gho_rate_limit", on_rate_limit=client_module._record_rate_limit)
    client.get("/user")
    recorded = metrics.serialize_metric_set()
    metrics.clear_metrics()
    assert recorded["GitHubRateLimitRemaining"] in (4321, 4321.0, [4321.0])


@pytest.mark.parametrize("header", ["", "-1", "12abc", "٣", "9" * 12])
def test_an_unusable_rate_limit_header_records_nothing(header):
    assert client_module._rate_limit_remaining({"x-ratelimit-remaining": header}) is None


def test_a_failed_generation_counts_in_generation_failed(repository_row, cache_key, db):
    repository_row()
    metrics.clear_metrics()

    def failing(progress):
        raise UpstreamUnavailable("GitHub is failing right now; try again shortly.")

    with pytest.raises(UpstreamUnavailable):
        get_or_generate(
            cache_key(),
            Fingerprint("extractive", "test-1"),
            failing,
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=6),
            deadline=time.monotonic() + 30,
        )
    recorded = metrics.serialize_metric_set()
    metrics.clear_metrics()
    assert recorded["GenerationFailed"] in (1, 1.0, [1.0])
