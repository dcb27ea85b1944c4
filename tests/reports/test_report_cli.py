"""``make report``: the report service from the terminal, against the fake GitHub with GITHUB_TOKEN."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import time
from pathlib import Path

import jsonschema_rs
import pytest
from helpers import STATS_KEYS

from tools import report as cli
from tools.fakes.github_activity import seed_activity

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def service_token(fake_github, settings_env):
    settings_env(GITHUB_TOKEN="gho_fake_service_token")
    fake_github.add_user("oss-tldr-service", "gho_fake_service_token")  # a token GitHub issued
    return "gho_fake_service_token"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_first_run_generates_with_progress_and_second_run_prints_the_cached_copy(
    engine, fake_github, service_token
):
    seed_activity(fake_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=8, issues=6, seed=9)
    code, out, err = run("octo/hello", "--timeframe", "last_week")
    assert code == 0
    assert out.startswith("# octo/hello · last week")  # nothing but the Markdown on stdout
    for heading in ("## TL;DR", "## Top pull requests", "## Top issues", "## People"):
        assert heading in out
    assert "](https://github.com/octo/hello/" in out
    assert "100%" in err and "generated and cached" in err
    assert "Cached copy" not in out
    assert {headers.get("authorization") for _, _, _, headers in fake_github.requests} == {
        f"Bearer {service_token}"
    }

    fake_github.reset_counts()
    code, again, err = run("https://github.com/octo/hello", "--timeframe", "last_week")
    assert code == 0
    assert "> Cached copy" in again and "served from the cache" in err
    assert fake_github.count() == 0


def test_missing_repository_is_an_error_message_and_exit_code(engine, fake_github, service_token):
    code, out, err = run("octo/nothing")
    assert code == 1
    assert out == ""
    assert "error: Repository not found." in err


def test_bad_repository_reference_is_refused_before_any_call(engine, fake_github, service_token):
    code, _, err = run("not a repo")
    assert code == 1 and "error:" in err
    assert fake_github.count() == 0


def test_without_github_token_it_says_to_set_it_and_asks_github_nothing(engine, fake_github, settings_env):
    settings_env(GITHUB_TOKEN=None)
    seed_activity(fake_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=3, issues=2, seed=9)
    code, out, err = run("octo/hello")
    assert code == 1 and out == ""
    assert "error: GITHUB_TOKEN is not set" in err and "(github_token_missing)" in err
    assert fake_github.count() == 0  # never an anonymous call


def openapi_schema(name: str) -> dict:
    """A schema of docs/openapi.json with the document's components, so its ``$ref`` resolve."""
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    return {**document["components"]["schemas"][name], "components": document["components"]}


def test_json_is_the_apis_report_and_validates_against_its_schema(engine, fake_github, service_token):
    seed_activity(fake_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=5, issues=4, seed=9)
    code, out, err = run("octo/hello", "--json")
    assert code == 0, err
    report = json.loads(out)  # nothing but the JSON on stdout
    jsonschema_rs.validator_for(openapi_schema("Report")).validate(report)
    assert report["repo"] == "octo/hello" and report["cached"] is False and report["prs"]
    assert set(report["stats"]) == STATS_KEYS

    code, again, _ = run("octo/hello", "--json")
    assert code == 0 and json.loads(again)["cached"] is True
    assert json.loads(again)["id"] == report["id"]


def test_output_writes_the_file_and_leaves_stdout_empty(engine, fake_github, service_token, tmp_path):
    seed_activity(fake_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=5, issues=4, seed=9)
    target = tmp_path / "hello.md"
    code, out, err = run("octo/hello", "--output", str(target))
    assert (code, out) == (0, "")
    assert target.read_text().startswith("# octo/hello · last week")
    assert f"wrote {target}" in err
    as_json = tmp_path / "hello.json"
    assert run("octo/hello", "--json", "-o", str(as_json))[0] == 0
    assert json.loads(as_json.read_text())["repo"] == "octo/hello"


def test_progress_off_a_terminal_is_one_line_per_step_and_logs_go_to_the_log_file(
    engine, fake_github, service_token
):
    from oss_tldr.settings import get_settings

    seed_activity(fake_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=5, issues=4, seed=9)
    # The log file is the worker's, appended to by every run: this run's own warning, in a file of its own.
    (get_settings().local_state_dir / "report.log").unlink(missing_ok=True)
    fake_github.graphql_partial("prsMerged")  # GitHub's partial answer: a warning is logged
    code, _, err = run("octo/hello")
    assert code == 0
    steps = err.splitlines()
    assert "\r" not in err and steps[-1] == "generated and cached"
    assert all(re.fullmatch(r"[ \d]{3}% \S.*", line) for line in steps[:-1]), steps
    assert "100%" in err
    log = (get_settings().local_state_dir / "report.log").read_text()
    assert '"level":"WARNING"' in log and "{" not in err  # the JSON log lines are in the file only


def test_verbose_logs_on_stderr_each_on_a_line_of_its_own(engine, fake_github, service_token):
    seed_activity(fake_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=5, issues=4, seed=9)
    fake_github.fail("POST", r"^/graphql$", status=502, times=1)
    code, _, err = run("octo/hello", "-v")
    assert code == 0
    logs = [line for line in err.splitlines() if line.startswith("{")]
    assert logs and all(json.loads(line)["level"] for line in logs)  # whole JSON lines, none glued
    assert all(
        line.startswith("{") or re.fullmatch(r"[ \d]{3}% \S.*|generated and cached", line)
        for line in err.splitlines()
    )


def test_unreachable_github_names_the_url_github_api_url_and_make_demo(engine, settings_env):
    nothing_listens = "http://127.0.0.1:9"
    settings_env(GITHUB_TOKEN="gho_fake_token", GITHUB_API_URL=nothing_listens, GITHUB_MAX_RETRIES="0")
    code, out, err = run("octo/hello")
    assert (code, out) == (1, "")
    message = next(line for line in err.splitlines() if line.startswith("error:"))
    assert message.startswith("error: cannot reach GitHub at http://127.0.0.1:9/graphql (ConnectError). ")
    assert "GITHUB_API_URL is http://127.0.0.1:9" in message and "`make demo`" in message
    assert message.endswith("(upstream_unavailable)")


def test_missing_token_says_how_to_set_github_token_or_use_the_demo(engine, fake_github, settings_env):
    settings_env(GITHUB_TOKEN=None)
    code, _, err = run("octo/hello")
    assert code == 1
    assert "export GITHUB_TOKEN=$(gh auth token)" in err and "`make demo`" in err


def test_rate_limit_says_when_to_retry(engine, fake_github, service_token):
    seed_activity(fake_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=3, issues=2, seed=9)
    reset = int(time.time()) + 900
    fake_github.fail(
        "POST",
        r"^/graphql$",
        status=403,
        body={"message": "API rate limit exceeded for user."},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        times=5,
    )
    code, out, err = run("octo/hello")
    assert (code, out) == (1, "")
    message = next(line for line in err.splitlines() if line.startswith("error:"))
    retry_at = re.search(r"retry after (\d\d:\d\d:\d\d) UTC \(in (\d+) min\)", message)
    assert retry_at, message
    assert abs(int(retry_at[2]) - 15) <= 1
    expected = dt.datetime.fromtimestamp(reset, dt.UTC)
    shown = dt.datetime.combine(expected.date(), dt.time.fromisoformat(retry_at[1]), dt.UTC)
    assert abs((shown - expected).total_seconds()) <= 5
    assert message.endswith("(github_rate_limited)")


def test_the_terminal_rendering_keeps_headings_links_and_counts(engine, fake_github, service_token):
    from tools.report_render import print_for_terminal

    seed_activity(fake_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=5, issues=4, seed=9)
    code, markdown, _ = run("octo/hello")
    assert code == 0
    screen = io.StringIO()
    print_for_terminal(markdown, screen)
    text = screen.getvalue()
    assert "\x1b]8;" in text and "https://github.com/octo/hello/" in text  # clickable links (OSC 8)
    assert "TL;DR" in text and "# TL;DR" not in text  # a heading, not Markdown source
    assert re.search(r"\d+ pull requests?", text)
