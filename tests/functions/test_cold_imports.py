"""Cold-start discipline of the sign-in and repository functions (issue 13, item 2): a fresh process that
imports the function module and serves a request that does not ask GitHub imports neither httpx nor the
GitHub client (they cost ~0.1 s of every cold start); the routes that ask GitHub import them when called."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fixtures_identity import Account, Cast
from helpers import ROOT, load_event

USERS = Cast(alice=Account(461, "gho_fake_alice_cold"))

SCRIPT = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); import app\n"
    "from tools.lambda_local import FakeLambdaContext\n"
    "response = app.lambda_handler(json.loads(sys.argv[2]), FakeLambdaContext('cold'))\n"
    "print(json.dumps([response['statusCode'], 'httpx' in sys.modules,"
    " 'oss_tldr.github.client' in sys.modules]))"
)


@pytest.mark.parametrize(
    ("directory", "event_file"),
    [("functions/auth", "auth_me.json"), ("functions/repos", "repos_list_tracked.json")],
)
def test_a_request_that_does_not_ask_github_imports_no_http_client(
    directory, event_file, alice, database_url
):
    event = load_event(event_file)
    event["headers"]["authorization"] = alice.headers["authorization"]
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'common'}",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SCRIPT, directory, json.dumps(event)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [200, False, False]
