"""``make invoke`` (tools/invoke.py): every file of ``events/`` runs, with its session filled in and its
function read from its ``routeKey``, and answers what its name says; bad input is one line on stderr."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools import invoke as cli
from tools.fakes.github_activity import seed_activity
from tools.fakes.github_pulls import file_entry, set_files

ROOT = Path(__file__).resolve().parents[2]
EVENTS = sorted(path.name for path in (ROOT / "events").glob("*.json"))
LOGIN = "local-dev"  # make invoke's default local user
LOCAL_GITHUB_TOKEN = "gho_fake_local_dev"
WEBHOOK_SECRET = "local-webhook-secret"
# Every event answers 2xx (or, not being an HTTP event, runs to its end), except these, for the reason given.
# A new file in events/ is covered without being listed here.
NOT_2XX = {
    "auth_callback.json": (400, "invalid_state", "its state comes from a sign-in this database never began"),
    "reports_job.json": (404, "not_found", "its job id is a sample one"),
}
NOT_AN_EVENT = {"env.json": "an environment file (sam local invoke --env-vars), not an event"}


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def world(oauth_github, settings_env):
    """What the sample events name: octo/hello (busy, on the fake GitHub), the local user's GitHub token,
    the webhook secret the sample delivery is signed with, that user as an admin, and report 1 (the
    sample report id) generated for octo/hello."""
    settings_env(GITHUB_TOKEN=LOCAL_GITHUB_TOKEN, GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET, ADMIN_LOGINS=LOGIN)
    oauth_github.add_user(LOGIN, LOCAL_GITHUB_TOKEN)
    # prs first: #1-#8 are pull requests (the deep-dive events name #7), #9-#13 issues
    seed_activity(oauth_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=8, issues=5, seed=3)
    oauth_github.add_repo("octo/world")
    # The deep-dive events: pull request #7 of octo/hello with the one file whose patch deepdive_diff.json
    # explains, served once by /patches (the only patches /diff explains).
    diff = json.loads(json.loads((ROOT / "events" / "deepdive_diff.json").read_text())["body"])
    set_files(oauth_github, "octo/hello", 7, [file_entry(diff["file"], diff["patch"])])
    for name in ("reports_section.json", "deepdive_patches.json"):
        code, out, err = run(str(ROOT / "events" / name))
        assert code == 0 and json.loads(out)["statusCode"] == 200, (name, err, out[:300])
    return oauth_github


@pytest.mark.parametrize("name", EVENTS)
def test_every_event_file_answers_what_its_name_says(world, name):
    code, out, err = run(str(ROOT / "events" / name))
    if name in NOT_AN_EVENT:
        assert (code, out) == (2, "")
        assert err == f"error: {ROOT / 'events' / name}: {NOT_AN_EVENT[name]}\n"
        return
    assert code == 0, err
    assert "Traceback" not in err
    result = json.loads(out)  # the response alone on stdout
    event = json.loads((ROOT / "events" / name).read_text())
    if "routeKey" not in event:  # a scheduled or queued event: the handler's own result
        assert not (isinstance(result, dict) and "statusCode" in result), result
        return
    body = result.get("body") or ""
    if name in NOT_2XX:
        status, code_, _why = NOT_2XX[name]
        assert (result["statusCode"], json.loads(body)["code"]) == (status, code_), body
    else:
        assert 200 <= result["statusCode"] < 300, (name, body[:300])


def test_the_session_placeholder_is_filled_with_a_session_of_the_login(engine, db):
    code, out, _ = run("events/auth_me.json", "--login", "newcomer")
    assert code == 0
    assert json.loads(json.loads(out)["body"])["login"] == "newcomer"


def test_an_event_without_placeholder_creates_no_session(engine, db):
    from sqlalchemy import func, select

    from oss_tldr.db.models import UserSession

    assert run("events/health.json")[0] == 0
    assert db.scalar(select(func.count()).select_from(UserSession)) == 0


def test_the_function_given_must_serve_the_events_route(engine):
    code, out, err = run("HealthFunction", "events/auth_me.json")
    assert (code, out) == (2, "")
    assert err == (
        "error: events/auth_me.json: HealthFunction has no route 'GET /api/v1/auth/me'; "
        "AuthFunction has it (FUNCTION=AuthFunction)\n"
    )
    assert run("--function", "AuthFunction", "events/auth_me.json")[0] == 0


def test_an_unknown_function_lists_the_templates(engine):
    code, _, err = run("NopeFunction", "events/health.json")
    assert code == 2 and err.startswith("error: unknown function 'NopeFunction'; template.yaml has: ")
    assert "HealthFunction" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such event file (the samples are in events/)"),
        ("{not json", "not valid JSON (Expecting property name enclosed in double quotes"),
        ("[1, 2]", "an event is a JSON object, this is a list"),
        ('{"hello": 1}', "no routeKey and no known event source; say which function: FUNCTION="),
        ('{"routeKey": "GET /api/v1/no"}', "no function of template.yaml has the route 'GET /api/v1/no'"),
    ],
)
def test_a_missing_or_malformed_event_is_one_line_and_exit_2(tmp_path, content, says):
    path = tmp_path / "event.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run(str(path))
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {path}: {says}") and err.count("\n") == 1


def test_a_scheduler_event_finds_its_function_among_several_by_the_schedule_it_names():
    template = {
        "Resources": {
            name: {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Events": {"Every": {"Type": "ScheduleV2"}}},
            }
            for name in ("CleanupFunction", "WarmingFunction")
        }
    }
    schedule = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/oss-tldr-warming-prod"
    event = {"source": "aws.scheduler", "resources": [schedule]}
    assert cli.function_for(event, Path("e.json"), None, template) == "WarmingFunction"
    with pytest.raises(cli.InvokeError, match=r"which function takes this aws.scheduler event"):
        cli.function_for({"source": "aws.scheduler"}, Path("e.json"), None, template)


def test_the_command_prints_the_response_alone_on_stdout(engine):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")])}
    done = subprocess.run(
        [sys.executable, "-m", "tools.invoke", "events/health.json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["statusCode"] == 200
