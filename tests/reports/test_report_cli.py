"""``make report``: the report service from the terminal, against the fake GitHub with GITHUB_TOKEN."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from tools import report as cli
from tools.fakes.github_activity import seed_activity


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
