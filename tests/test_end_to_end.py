"""The SPA's journey over real HTTP through the local API (`make dev`), against the fake GitHub and the
fake OpenAI: sign in, find and track a repository, open a report (four sections at once), and a second
user gets the same report from the cache without a single GitHub or OpenAI call."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fixtures_identity import OAUTH_ENV

from tools.fakes.github_activity import seed_activity

ORIGIN = "http://localhost:5173"
SECTIONS = ("prs", "issues", "people", "tldr")


@pytest.fixture
def api(start_local_api, fake_github, fake_openai, settings_env):
    settings_env(**OAUTH_ENV)
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as client:
        yield client


def _sign_in(api: httpx.Client, fake_github, login: str, gh_token: str, user_id: int) -> dict[str, str]:
    fake_github.add_user(login, gh_token, id=user_id)
    started = api.get("/auth/github/login").json()
    fake_github.state["oauth_user"] = gh_token  # who consents in the fake browser
    consent = httpx.get(started["auth_url"])
    query = parse_qs(urlsplit(consent.headers["location"]).query)
    signed_in = api.post("/auth/github/callback", json={"code": query["code"][0], "state": query["state"][0]})
    assert signed_in.status_code == 200, signed_in.text
    body = signed_in.json()
    assert body["user"]["login"] == login and body["token_type"] == "bearer"
    assert gh_token not in signed_in.text
    return {"Authorization": f"Bearer {body['access_token']}", "Origin": ORIGIN}


def _open_report(api: httpx.Client, headers: dict[str, str], repo: str) -> dict[str, httpx.Response]:
    """What the SPA does: the four section routes at the same moment."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            s: pool.submit(
                api.get, f"/reports/{repo}/{s}", params={"timeframe": "last_week"}, headers=headers
            )
            for s in SECTIONS
        }
        return {s: f.result() for s, f in futures.items()}


def test_two_users_share_one_generated_report_through_the_local_api(api, fake_github, fake_openai):
    seed_activity(fake_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=14, issues=11, bots=2)
    alice = _sign_in(api, fake_github, "alice", "gho_fake_alice_e2e_token", 7001)
    bob = _sign_in(api, fake_github, "bob", "gho_fake_bob_e2e_token", 7002)

    # Find the repository by URL (exact match first) and track it.
    found = api.get("/repos/search", params={"q": "https://github.com/octo/hello"}, headers=alice).json()
    assert found["repositories"][0]["full_name"] == "octo/hello"
    assert isinstance(found["repositories"][0]["stargazers_count"], int)
    tracked = api.post("/users/me/repositories", json={"repo_url": "octo/hello"}, headers=alice)
    assert tracked.status_code == 200 and tracked.json()["repository"]["full_name"] == "octo/hello"
    listed = api.get("/users/me/repositories", headers=alice).json()["repositories"]
    assert [r["full_name"] for r in listed] == ["octo/hello"]

    # Alice opens the report: every section answers 200 with its data in the same request.
    fake_github.reset_counts()
    first = _open_report(api, alice, "octo/hello")
    for section, response in first.items():
        assert response.status_code == 200, (section, response.text)
        assert response.headers["access-control-allow-origin"] == ORIGIN
    assert first["tldr"].headers["content-type"].startswith("text/plain") and first["tldr"].text.strip()
    prs, issues, people = (first[s].json()[s] for s in ("prs", "issues", "people"))
    assert 0 < len(prs) <= 10 and 0 < len(issues) <= 10 and 0 < len(people) <= 5
    assert all(not p["user"]["login"].endswith("[bot]") for p in prs)
    assert all(isinstance(p["labels"], list) and p["summary"] for p in prs)
    # One generation for the four requests: one GitHub request (the GraphQL query), at most 2 LLM requests.
    assert fake_github.count() == fake_github.count("POST", r"^/graphql$") == 1
    assert fake_github.graphql_errors == []
    llm_requests = fake_openai.count()
    assert 1 <= llm_requests <= 2
    stats = first["prs"].json()["stats"]
    assert stats == first["issues"].json()["stats"] == first["people"].json()["stats"]
    assert stats["pull_requests"] >= len(prs) and stats["issues"] >= len(issues)

    # Bob asks for the same report: served from the cache, no GitHub or OpenAI call.
    fake_github.reset_counts()
    second = _open_report(api, bob, "octo/hello")
    assert all(r.status_code == 200 for r in second.values())
    assert all(second[s].json()["cached"] is True for s in ("prs", "issues", "people"))
    assert second["prs"].json()["prs"] == prs
    assert fake_github.count() == 0 and fake_openai.count() == llm_requests

    history = api.get("/users/me/reports", headers=bob).json()["reports"]
    assert [(r["repo"], r["timeframe"]) for r in history] == [("octo/hello", "last_week")]


def test_bad_input_is_json_4xx_with_cors_and_writes_nothing(api, fake_github, db):
    from sqlalchemy import func, select

    from oss_tldr.db.models import Report, ReportJob

    alice = _sign_in(api, fake_github, "alice", "gho_fake_alice_e2e_token", 7001)
    cases = [
        ("GET", "/reports/octo/hello/prs", {"timeframe": "last_decade"}, None),
        ("GET", "/reports/octo/hello/commits", {"timeframe": "last_week"}, None),
        ("GET", "/reports/..%2F..%2Fetc/hello/prs", {"timeframe": "last_week"}, None),
        ("POST", "/reports/generate", None, {"repo_url": "javascript:alert(1)", "timeframe": "last_week"}),
        ("POST", "/users/me/repositories", None, {"repo_url": "https://evil.com/a/b"}),
    ]
    for method, path, params, body in cases:
        response = api.request(method, path, params=params, json=body, headers=alice)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
        assert set(response.json()) == {"detail", "code"}, path
        assert response.headers["access-control-allow-origin"] == ORIGIN
    malformed = api.post(
        "/reports/generate", content=b"{not json", headers={**alice, "content-type": "application/json"}
    )
    assert 400 <= malformed.status_code < 500 and set(malformed.json()) == {"detail", "code"}
    assert api.get("/reports/octo/hello/prs", headers={"Origin": ORIGIN}).status_code == 401
    assert db.scalar(select(func.count()).select_from(Report)) == 0
    assert db.scalar(select(func.count()).select_from(ReportJob)) == 0
    assert fake_github.count("POST", r"^/graphql$") == 0
