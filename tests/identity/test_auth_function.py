"""The Auth function end to end against the fake GitHub OAuth host and API (in-process and over HTTP)."""

from __future__ import annotations

import datetime as dt
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from helpers import call
from sqlalchemy import func, select, text, update

from oss_tldr.db.models import AuditLog, GitHubToken, OAuthState, User, UserSession
from tools.fakes.github_identity import _s256

GH_TOKEN = "gho_fake_alice_oauth_token_0123456789"


def _login(ctx):
    status, body, _ = call("AuthFunction", "auth_login.json", ctx)
    assert status == 200, body
    return body


def _consent(auth_url):
    """The browser: open the authorize URL, GitHub redirects back with code and state."""
    response = httpx.get(auth_url, follow_redirects=False)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return query["code"][0], query["state"][0]


def _callback(ctx, code, state):
    return call("AuthFunction", "auth_callback.json", ctx, body={"code": code, "state": state})


def _count(db, model):
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def alice(oauth_github):
    """Alice on the fake GitHub only: she signs in during the test (not the shared signed-in ``alice``)."""
    return oauth_github.add_user("alice", GH_TOKEN, id=5001, name="Alice A.", email="alice@example.com")


def _sign_in(ctx):
    code, state = _consent(_login(ctx)["auth_url"])
    status, body, _ = _callback(ctx, code, state)
    assert status == 200, body
    return body


def test_login_returns_state_and_github_authorize_url_with_pkce(oauth_github, lambda_context, db):
    body = _login(lambda_context)
    url = urlsplit(body["auth_url"])
    assert f"{url.scheme}://{url.netloc}" == oauth_github.url
    assert url.path == "/login/oauth/authorize"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["client_id"] == "fake-client-id"
    assert query["redirect_uri"] == "http://localhost:5173/auth/callback"
    assert query["scope"] == "repo read:user"
    assert query["state"] == body["state"]
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    row = db.scalar(select(OAuthState))
    assert row.state_hash == hashlib.sha256(body["state"].encode()).hexdigest()  # stored hashed only
    assert body["state"] not in row.state_hash
    assert _s256(row.code_verifier) == query["code_challenge"]
    assert dt.timedelta(minutes=9) < row.expires_at - row.created_at <= dt.timedelta(minutes=10)


def test_full_sign_in_flow_issues_a_session_and_stores_the_user(alice, oauth_github, lambda_context, db):
    body = _sign_in(lambda_context)
    assert body["token_type"] == "bearer"
    assert body["user"] == {
        "id": 5001,
        "login": "alice",
        "name": "Alice A.",
        "email": "alice@example.com",
        "avatar_url": "https://avatars.githubusercontent.com/u/5001?v=4",
    }
    expires_at = dt.datetime.fromisoformat(body["expires_at"])
    assert dt.timedelta(hours=23) < expires_at - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=24)
    assert GH_TOKEN not in str(body)
    # The exchange sent the PKCE verifier, asked for JSON, and GET /user used the new token.
    exchange = oauth_github.state["oauth_exchanges"][-1]
    assert exchange["body"]["code_verifier"]
    assert "application/json" in exchange["accept"]
    assert oauth_github.count("GET", r"^/user$") == 1
    headers = {"authorization": f"Bearer {body['access_token']}"}
    status, me, _ = call("AuthFunction", "auth_me.json", lambda_context, headers=headers)
    assert (status, me) == (200, body["user"])
    status, valid, _ = call("AuthFunction", "auth_validate.json", lambda_context, headers=headers, body={})
    assert (status, valid) == (200, {"valid": True, "user": body["user"]})
    assert _count(db, User) == 1 and _count(db, UserSession) == 1 and _count(db, GitHubToken) == 1
    assert _count(db, OAuthState) == 0
    audit = db.scalar(select(AuditLog))
    assert (audit.actor_user_id, audit.action, audit.target_type) == (5001, "auth.sign_in", "session")


def test_signing_in_again_refreshes_the_profile_and_keeps_one_user(alice, lambda_context, db):
    _sign_in(lambda_context)
    alice.name, alice.login = "Alice Renamed", "alice-new"
    body = _sign_in(lambda_context)
    assert body["user"]["login"] == "alice-new"
    db.expire_all()
    users = db.scalars(select(User)).all()
    assert [(u.id, u.login, u.name) for u in users] == [(5001, "alice-new", "Alice Renamed")]
    assert _count(db, UserSession) == 2


def test_reused_state_is_400_and_creates_no_session(alice, lambda_context, db):
    login = _login(lambda_context)
    code, state = _consent(login["auth_url"])
    assert _callback(lambda_context, code, state)[0] == 200
    code2, _ = _consent(login["auth_url"])  # a second consent with the same (already used) state
    status, body, _ = _callback(lambda_context, code2, state)
    assert (status, body["code"]) == (400, "invalid_state")
    assert _count(db, UserSession) == 1


def test_unknown_state_is_400_and_creates_no_session(alice, lambda_context, db):
    code, _ = _consent(_login(lambda_context)["auth_url"])
    status, body, _ = _callback(lambda_context, code, "fake-state-nobody-issued")
    assert (status, body["code"]) == (400, "invalid_state")
    assert _count(db, UserSession) == 0 and _count(db, User) == 0


def test_unknown_state_never_reaches_github(alice, oauth_github, lambda_context):
    code, _ = _consent(_login(lambda_context)["auth_url"])
    _callback(lambda_context, code, "fake-state-nobody-issued")
    assert oauth_github.count("POST", r"^/login/oauth/access_token$") == 0


@pytest.mark.parametrize(
    "body,code",
    [
        ({"code": "fake_code"}, "missing_state"),
        ({"code": "fake_code", "state": ""}, "missing_state"),
        ({"state": "fake-state"}, "missing_code"),
        ({"code": "fake_code", "state": "x" * 10_000}, "invalid_state"),
    ],
)
def test_missing_or_oversized_state_or_code_is_400(oauth_github, lambda_context, db, body, code):
    status, answer, _ = call("AuthFunction", "auth_callback.json", lambda_context, body=body)
    assert (status, answer["code"]) == (400, code)
    assert _count(db, UserSession) == 0


def test_malformed_callback_json_is_a_4xx_json_error(oauth_github, lambda_context):
    status, answer, _ = call("AuthFunction", "auth_callback.json", lambda_context, body="{not json")
    assert status in (400, 422) and set(answer) == {"detail", "code"}


def test_expired_state_is_400_and_creates_no_session(alice, lambda_context, db):
    code, state = _consent(_login(lambda_context)["auth_url"])
    db.execute(update(OAuthState).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    db.commit()
    status, body, _ = _callback(lambda_context, code, state)
    assert (status, body["code"]) == (400, "state_expired")
    assert _count(db, UserSession) == 0


def test_code_refused_by_github_is_400_and_creates_no_session(alice, lambda_context, db):
    login = _login(lambda_context)
    status, body, _ = _callback(lambda_context, "fake_code_never_issued", login["state"])
    assert (status, body["code"]) == (400, "invalid_code")
    assert _count(db, UserSession) == 0 and _count(db, User) == 0


def test_wrong_pkce_verifier_is_refused_by_github(alice, oauth_github, lambda_context, db):
    login = _login(lambda_context)
    code, state = _consent(login["auth_url"])
    db.execute(update(OAuthState).values(code_verifier="fake-verifier-" + "x" * 50))
    db.commit()
    status, body, _ = _callback(lambda_context, code, state)
    assert (status, body["code"]) == (400, "invalid_code")
    assert _count(db, UserSession) == 0


def test_github_user_endpoint_failing_is_502_and_creates_no_session(alice, oauth_github, lambda_context, db):
    code, state = _consent(_login(lambda_context)["auth_url"])
    oauth_github.fail("GET", r"^/user$", status=500, times=10)
    status, body, _ = _callback(lambda_context, code, state)
    assert status == 502 and body["code"] == "upstream_unavailable"
    assert _count(db, UserSession) == 0 and _count(db, User) == 0


def test_sign_in_is_503_when_the_oauth_app_is_not_configured(
    fake_github, settings_env, engine, lambda_context
):
    settings_env(GITHUB_CLIENT_ID=None, GITHUB_CLIENT_SECRET=None)
    status, body, _ = call("AuthFunction", "auth_login.json", lambda_context)
    assert (status, body["code"]) == (503, "oauth_not_configured")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer garbage"},
        {"authorization": "Basic abc"},
        {"authorization": "Bearer a.b.c"},
    ],
)
def test_validate_answers_200_valid_false_for_unusable_tokens(engine, lambda_context, headers):
    status, body, _ = call("AuthFunction", "auth_validate.json", lambda_context, headers=headers, body={})
    assert (status, body) == (200, {"valid": False})


def test_validate_answers_valid_false_for_an_expired_session(make_user, lambda_context, db):
    user = make_user()
    db.execute(update(UserSession).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    db.commit()
    status, body, _ = call(
        "AuthFunction", "auth_validate.json", lambda_context, headers=user.headers, body={}
    )
    assert (status, body) == (200, {"valid": False})


def test_logout_revokes_the_session(make_user, lambda_context, db):
    user = make_user(id=9, login="bob")
    other = make_user(id=9, login="bob")  # a second device keeps its own session
    status, body, _ = call("AuthFunction", "auth_logout.json", lambda_context, headers=user.headers)
    assert (status, body) == (200, {"ok": True})
    status, body, _ = call("AuthFunction", "auth_me.json", lambda_context, headers=user.headers)
    assert (status, body["code"]) == (401, "session_revoked")
    _, valid, _ = call("AuthFunction", "auth_validate.json", lambda_context, headers=user.headers, body={})
    assert valid == {"valid": False}
    assert call("AuthFunction", "auth_me.json", lambda_context, headers=other.headers)[0] == 200
    assert call("AuthFunction", "auth_logout.json", lambda_context, headers=user.headers)[0] == 401
    actions = db.scalars(select(AuditLog.action)).all()
    assert actions == ["auth.sign_out"]


@pytest.mark.parametrize("event", ["auth_me.json", "auth_logout.json"])
def test_protected_auth_routes_are_401_json_with_cors_without_a_session(engine, lambda_context, event):
    status, body, headers = call(
        "AuthFunction", event, lambda_context, headers={"origin": "http://localhost:5173"}
    )
    assert status == 401
    assert set(body) == {"detail", "code"}
    assert headers.get("Access-Control-Allow-Origin") == "http://localhost:5173"


def test_github_token_never_appears_in_responses_logs_or_the_database(
    alice, lambda_context, db, capfd, caplog, powertools_output
):
    body = _sign_in(lambda_context)
    headers = {"authorization": f"Bearer {body['access_token']}"}
    call("AuthFunction", "auth_me.json", lambda_context, headers=headers)
    call("AuthFunction", "auth_logout.json", lambda_context, headers=headers)
    out, err = capfd.readouterr()
    assert GH_TOKEN not in out + err + caplog.text + powertools_output.getvalue()
    dump = db.execute(text("SELECT ciphertext, encrypted_data_key FROM github_tokens")).one()
    assert GH_TOKEN.encode() not in bytes(dump.ciphertext) + bytes(dump.encrypted_data_key)


def test_full_login_flow_through_the_local_api(alice, local_api):
    with httpx.Client(base_url=f"{local_api}/api/v1") as api:
        login = api.get("/auth/github/login").json()
        code, state = _consent(login["auth_url"])
        assert state == login["state"]
        signed_in = api.post("/auth/github/callback", json={"code": code, "state": state})
        assert signed_in.status_code == 200
        headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        assert api.get("/auth/me", headers=headers).json()["login"] == "alice"
        assert api.post("/auth/validate", json={}, headers=headers).json()["valid"] is True
        assert api.post("/auth/logout", headers=headers).json() == {"ok": True}
        assert api.get("/auth/me", headers=headers).status_code == 401
        assert api.post("/auth/validate", json={}, headers=headers).json() == {"valid": False}
        replay = api.post("/auth/github/callback", json={"code": code, "state": state})
        assert replay.status_code == 400
