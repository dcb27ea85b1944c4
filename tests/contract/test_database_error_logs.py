"""Issue 7, finding 11: a database error's log names the statement, never its bound values.

The review saw session ids in the logs of failed statements (SQLAlchemy's ``[parameters: {...}]``). Here a
real database error is provoked on routes that carry a session (the ``sessions`` table loses a column the
session check reads, for the length of one request) and everything the process wrote — the Powertools
logger's JSON on stdout, stderr and the logging records — is searched for the session id and the token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import func, select, text

from oss_tldr.db.models import UserSession

ORIGIN = "http://localhost:5173"


@pytest.fixture
def api(start_local_api, fake_github, fake_openai):
    fake_github.add_repo("octo/hello")
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as client:
        yield client


@contextmanager
def _broken_sessions_table(db) -> Iterator[None]:
    """``sessions.revoked_at`` renamed for the block: every session check fails in the database (SQLSTATE
    42703, undefined column), which is neither a lost connection nor bad input."""
    db.execute(text("ALTER TABLE sessions RENAME COLUMN revoked_at TO revoked_at_hidden_by_test"))
    db.commit()
    try:
        yield
    finally:
        db.rollback()
        db.execute(text("ALTER TABLE sessions RENAME COLUMN revoked_at_hidden_by_test TO revoked_at"))
        db.commit()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/auth/me"),
        ("POST", "/auth/logout"),
        ("GET", "/reports/octo/hello/prs"),
        ("GET", "/users/me/reports"),
    ],
)
def test_a_database_error_on_a_route_with_a_session_logs_neither_the_session_id_nor_the_token(
    api, make_user, db, powertools_output, capfd, caplog, method, path
):
    user = make_user(id=701, login="alice", github_token="gho_fake_alice_logs")
    request = api.build_request(method, path, headers={**user.headers, "Origin": ORIGIN})
    capfd.readouterr()
    caplog.clear()

    with _broken_sessions_table(db):
        response = api.send(request)

    out, err = capfd.readouterr()
    logged = powertools_output.getvalue() + out + err + caplog.text
    assert response.status_code == 500, response.text
    assert response.json() == {"detail": "An internal error occurred.", "code": "internal_error"}
    records = [json.loads(line) for line in powertools_output.getvalue().splitlines()]
    [error] = [r for r in records if r["message"] == "database error"]  # the error was logged...
    assert error["level"] == "ERROR" and error["sqlstate"] == "42703" and "sessions" in error["statement"]
    assert user.session_id not in logged  # ...but not the values it was run with
    assert user.token not in logged
    for part in user.token.split("."):
        assert part not in logged
    assert "revoked_at_hidden_by_test" not in response.text and "Traceback" not in response.text
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(UserSession)) == 1
