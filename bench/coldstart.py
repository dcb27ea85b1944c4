"""Cold start per API function (``make bench``, issue 13): a fresh ``python`` process imports the function's
module the way the Lambda runtime does and serves one request, against ``python -c "import boto3"``.

The two are sampled in pairs, interleaved (function, boto3, function, boto3, ...), so that a busy moment of
the shared machine weighs on both; the figure is the median of each, and their ratio. Each process also
reports its own split: seconds to import the handler module, and seconds of the first request (its
database connection included).

The request of each function is the cheapest real answer of its hit path: health's database ping, auth's
``GET /auth/me``, repos' tracked repositories, the reports' cached section (the hit), a signed webhook
``ping`` (stored), and deep dive's ``POST /diff`` of a patch nobody stored (404 after its lookup: a shared
answer needs GitHub to have been asked once).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_SECRET = "bench-webhook-secret"  # noqa: S105 - the bench's own, set in its subprocesses only

SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import app
t1 = time.perf_counter()
context = type("Context", (), {"get_remaining_time_in_millis": lambda self: 29000, "function_name": "bench",
    "memory_limit_in_mb": 1024, "invoked_function_arn": "arn:aws:lambda:us-east-1:0:function:bench",
    "aws_request_id": "cold-start"})()
response = app.lambda_handler(json.loads(sys.argv[2]), context)
t2 = time.perf_counter()
assert response["statusCode"] == int(sys.argv[3]), response
print(json.dumps({"import_s": t1 - t0, "first_request_s": t2 - t1, "openai": "openai" in sys.modules,
    "sqlalchemy_orm": "sqlalchemy.orm" in sys.modules}))
"""


def _authorized(event: dict[str, Any], token: str) -> dict[str, Any]:
    event["headers"]["authorization"] = f"Bearer {token}"
    return event


def _event_file(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    return event


def _webhook_ping() -> dict[str, Any]:
    from tools.lambda_local import http_event

    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-github-delivery": str(uuid.uuid4()),
        "x-hub-signature-256": signature,
    }
    return http_event("POST", "/webhooks/github", headers=headers, body=body)


def section_event(token: str, full_name: str, section: str, timeframe: str = "last_week") -> dict[str, Any]:
    """The report section request of ``full_name`` signed by ``token`` (the reports' hit)."""
    owner, repo = full_name.split("/")
    event: dict[str, Any] = json.loads((ROOT / "events" / "reports_section.json").read_text())
    path = f"/api/v1/reports/{owner}/{repo}/{section}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"owner": owner, "repo": repo, "section": section}
    event["rawQueryString"] = f"timeframe={timeframe}"
    event["queryStringParameters"] = {"timeframe": timeframe}
    event["headers"]["authorization"] = f"Bearer {token}"
    return event


def functions(
    token: str, section_event: dict[str, Any]
) -> list[tuple[str, str, Callable[[], dict[str, Any]], int]]:
    """(logical id, code directory, a fresh event, the expected status) of every API function."""

    def signed(name: str) -> Callable[[], dict[str, Any]]:
        return lambda: _authorized(_event_file(name), token)

    return [
        ("HealthFunction", "functions/health", lambda: _event_file("health.json"), 200),
        ("AuthFunction", "functions/auth", signed("auth_me.json"), 200),
        (
            "ReposFunction",
            "functions/repos",
            signed("repos_list_tracked.json"),
            200,
        ),
        ("ReportsFunction", "functions/reports", lambda: section_event, 200),
        ("WebhooksFunction", "functions/webhooks", _webhook_ping, 200),
        (
            "DeepDiveFunction",
            "functions/deepdive",
            signed("deepdive_diff.json"),
            404,
        ),
    ]


def _wall(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(f"{argv[2:4]} failed: {done.stderr[-2000:]}")
    return seconds, done.stdout


def measure(token: str, section_event: dict[str, Any], pairs: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'common'}"}
    env["GITHUB_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    results: dict[str, Any] = {"pairs": pairs, "functions": {}}
    all_boto: list[float] = []
    for logical_id, directory, event, status in functions(token, section_event):
        walls, boto, imports, requests, flags = [], [], [], [], set()
        for _ in range(pairs):
            argv = [sys.executable, "-c", SCRIPT, directory, json.dumps(event()), str(status)]
            seconds, out = _wall(argv, env)
            split = json.loads(out.strip().splitlines()[-1])
            walls.append(seconds)
            imports.append(split["import_s"])
            requests.append(split["first_request_s"])
            flags |= {name for name in ("openai", "sqlalchemy_orm") if split[name]}
            boto.append(_wall([sys.executable, "-c", "import boto3"], env)[0])
        median, boto_median = statistics.median(walls), statistics.median(boto)
        all_boto += boto
        results["functions"][logical_id] = {
            "import_and_first_request_s": round(median, 3),
            "import_boto3_s": round(boto_median, 3),
            "ratio": round(median / boto_median, 2),
            "import_s": round(statistics.median(imports), 3),
            "first_request_s": round(statistics.median(requests), 3),
            "imported": sorted(flags),
        }
    heaviest = max(results["functions"].items(), key=lambda item: item[1]["ratio"])
    results["heaviest"] = {"function": heaviest[0], **heaviest[1]}
    results["import_boto3_s"] = round(statistics.median(all_boto), 3)
    results["goal_ratio"] = 2.5
    return results


def rows(start: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The table rows of docs/performance.md: one per function."""
    out = []
    for logical_id, figures in start["functions"].items():
        imported = ", ".join(figures["imported"]) or "neither"
        out.append(
            (
                f"Cold start, {logical_id}: import + first request (median of {start['pairs']} pairs)",
                f"{figures['import_and_first_request_s']} s vs `import boto3` {figures['import_boto3_s']} s"
                f" = {figures['ratio']}x (import {figures['import_s']} s,"
                f" request {figures['first_request_s']} s;"
                f" OpenAI SDK / SQLAlchemy ORM imported: {imported})",
                "≤ 2.5x",
            )
        )
    return out
