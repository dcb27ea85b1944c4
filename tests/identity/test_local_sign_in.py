"""``make token LOGIN=...`` (tools/local_token.py over oss_tldr.identity.local): an ordinary session for a
local user, created once, refused outside local environments."""

from __future__ import annotations

import io

import pytest
from helpers import call
from sqlalchemy import func, select

from oss_tldr.db.models import AuditLog, GitHubToken, User, UserSession
from oss_tldr.identity.local import LOCAL_USER_ID_BASE, issue_local_session, local_user_id
from oss_tldr.identity.tokens import github_token_for
from tools import local_token


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = local_token.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_make_token_prints_a_session_that_the_api_accepts(engine, db, lambda_context):
    code, out, err = run("newcomer")
    assert code == 0
    token = out.strip()
    assert out.count("\n") == 1 and token.count(".") == 2  # the JWT alone on stdout
    assert "Authorization: Bearer $TOKEN" in err and token not in err
    status, body, _ = call("AuthFunction", "auth_me.json", lambda_context, headers=bearer(token))
    assert status == 200
    assert body["login"] == "newcomer" and body["id"] == local_user_id("newcomer")
    assert body["id"] > LOCAL_USER_ID_BASE  # never a GitHub id
    assert db.scalar(select(AuditLog.details).where(AuditLog.actor_user_id == body["id"])) == {
        "login": "newcomer",
        "local": True,
    }


def test_the_same_login_twice_is_one_user_with_two_sessions_and_logout_ends_one(engine, db, lambda_context):
    first, second = run("Newcomer")[1].strip(), run("newcomer")[1].strip()
    assert db.scalar(select(func.count()).select_from(User)) == 1
    assert db.scalar(select(func.count()).select_from(UserSession)) == 2
    assert call("AuthFunction", "auth_logout.json", lambda_context, headers=bearer(first)).status == 200
    assert call("AuthFunction", "auth_me.json", lambda_context, headers=bearer(first)).status == 401
    assert call("AuthFunction", "auth_me.json", lambda_context, headers=bearer(second)).status == 200


def test_an_existing_user_keeps_their_id_and_a_known_github_id_is_used_for_a_new_one(engine, db, make_user):
    make_user(id=583231, login="octocat", name="The Octocat", email="octo@example.com")
    issue_local_session("OctoCat")
    assert db.execute(select(User.id, User.login, User.name, User.email)).all() == [
        (583231, "octocat", "The Octocat", "octo@example.com")  # the profile GitHub gave is kept
    ]
    issue_local_session("demo-friend", github_id=4242, github_token="gho_fake_friend")
    assert db.scalar(select(User.id).where(User.login == "demo-friend")) == 4242
    assert github_token_for(4242) == "gho_fake_friend"  # stored sealed, as sign-in stores it


def test_github_token_of_the_settings_becomes_the_users_token(engine, db, settings_env):
    settings_env(GITHUB_TOKEN="gho_fake_service")
    assert run("newcomer")[0] == 0
    user_id = local_user_id("newcomer")
    assert github_token_for(user_id) == "gho_fake_service"
    stored = db.scalar(select(GitHubToken.ciphertext).where(GitHubToken.user_id == user_id))
    assert b"gho_fake_service" not in stored


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OSS_TLDR_ENV": "production"}, "production"),
        ({"OSS_TLDR_ENV": "Staging"}, "staging"),
        ({"AWS_LAMBDA_FUNCTION_NAME": "oss-tldr-auth"}, "aws"),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f", "OSS_TLDR_LOCAL": "1", "OSS_TLDR_ENV": "prod"}, "prod"),
    ],
)
def test_refused_outside_local_environments_and_nothing_is_written(engine, db, settings_env, env, named):
    settings_env(**env)
    code, out, err = run("newcomer")
    assert (code, out) == (1, "")
    assert f"refused in the {named!r} environment" in err and "(local_sign_in_refused)" in err
    assert db.scalar(select(func.count()).select_from(User)) == 0
    assert db.scalar(select(func.count()).select_from(UserSession)) == 0


@pytest.mark.parametrize("env", [{}, *({"OSS_TLDR_ENV": name} for name in ("dev", "DEMO", "test"))])
def test_allowed_in_the_local_environments(engine, settings_env, env):
    settings_env(**env)
    assert run("newcomer")[0] == 0


@pytest.mark.parametrize("login", ["", "-dash", "two--dashes", "a" * 40, "with space", "o'neil"])
def test_a_login_github_would_not_issue_is_refused(engine, db, login):
    code, out, err = run("--", login)  # as the Makefile passes it
    assert (code, out) == (1, "") and "(invalid_login)" in err
    assert db.scalar(select(func.count()).select_from(User)) == 0
