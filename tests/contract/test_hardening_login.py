"""Issue 7, finding 8 (login side): unauthenticated ``GET /auth/github/login`` calls cannot grow
``oauth_states`` without bound — each client (source address) keeps its newest pending sign-ins only."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fixtures_identity import OAUTH_ENV
from helpers import call, invoke, load_event
from sqlalchemy import func, select

from oss_tldr.db.models import OAuthState, UserSession
from oss_tldr.identity.oauth import MAX_PENDING_STATES_PER_CLIENT

ORIGIN = "http://localhost:5173"
GH_TOKEN = "gho_fake_login_bound"


@pytest.fixture
def api(start_local_api, fake_github, settings_env):
    settings_env(**OAUTH_ENV, GITHUB_MAX_RETRIES="0")
    fake_github.add_user("alice", GH_TOKEN, id=601)
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", headers={"Origin": ORIGIN}, timeout=60) as c:
        yield c


def _states(db) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(OAuthState)))


def _callback(api, fake_github, started):
    fake_github.state["oauth_user"] = GH_TOKEN
    redirect = httpx.get(started["auth_url"]).headers["location"]
    query = parse_qs(urlsplit(redirect).query)
    return api.post("/auth/github/callback", json={"code": query["code"][0], "state": query["state"][0]})


def test_repeated_logins_from_one_client_keep_a_bounded_number_of_states(api, fake_github, db):
    calls = MAX_PENDING_STATES_PER_CLIENT + 5
    started = [api.get("/auth/github/login") for _ in range(calls)]
    assert all(r.status_code == 200 for r in started)
    assert _states(db) == MAX_PENDING_STATES_PER_CLIENT

    # The newest sign-in still completes; the oldest (dropped) is the 400 of an unknown state.
    assert _callback(api, fake_github, started[-1].json()).status_code == 200
    oldest = _callback(api, fake_github, started[0].json())
    assert oldest.status_code == 400 and oldest.json()["code"] == "invalid_state"
    assert db.scalar(select(func.count()).select_from(UserSession)) == 1


def test_other_clients_keep_their_own_pending_states(oauth_github, lambda_context, db):
    def login(ip: str) -> int:
        event = load_event("auth_login.json")
        event["requestContext"]["http"]["sourceIp"] = ip
        return invoke("AuthFunction", event, lambda_context).status

    for _ in range(MAX_PENDING_STATES_PER_CLIENT + 3):
        assert login("203.0.113.10") == 200
    assert login("198.51.100.7") == 200
    status, _, _ = call("AuthFunction", "auth_login.json", lambda_context)
    assert status == 200
    rows = db.execute(select(OAuthState.client_key, func.count()).group_by(OAuthState.client_key)).all()
    counts = sorted(count for _, count in rows)
    assert counts == [1, MAX_PENDING_STATES_PER_CLIENT]  # the event's own address is 203.0.113.10
    assert all(key is not None and len(key) == 64 and "203.0" not in key for key, _ in rows)
