"""Issue 7, findings 5, 2 and 9, seen from outside: a GitHub that answers garbage, links elsewhere or is
slow, through the local API (`tools.devserver`), the fake GitHub and the embedded Postgres.

Every caller of GitHub — tracking, search, the user's repositories, the private re-check, import, the
OAuth callback and report generation — answers a JSON error in the contract's shape (502
``upstream_unavailable``, or 429 with a sane ``Retry-After`` for a rate limit), never a 500, and writes
nothing; a count beyond a Postgres integer is clamped and served; a link that is not GitHub's never leaves
the API."""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fixtures_identity import OAUTH_ENV, Account, Cast
from helpers import assert_error as _assert_error
from sqlalchemy import func, select, text

from oss_tldr.db.models import Base, Report, Repository, RepositoryAccessCheck
from tools.fakes.github_activity import add_item
from tools.fakes.trickle import trickling_server
from tools.lambda_local import FakeLambdaContext

ORIGIN = "http://localhost:5173"
ALICE_GH, BOB_GH = "gho_fake_alice_hardening", "gho_fake_bob_hardening"
PG_INTEGER_MAX = 2**31 - 1
EVIL = "http://evil.example/phish"

FAULTS: dict[str, dict[str, Any]] = {
    "non_json_200": {"status": 200, "body": b"<html>GitHub is having a moment</html>"},
    "json_array_403": {"status": 403, "body": [1, 2]},
    "retry_after_1e400_429": {"status": 429, "headers": {"retry-after": "1e400"}},
    "retry_after_1e400_403": {
        "status": 403,
        "body": {"message": "You have exceeded a secondary rate limit."},
        "headers": {"retry-after": "1e400"},
    },
}


@pytest.fixture
def api(start_local_api, fake_github, settings_env):
    settings_env(**OAUTH_ENV, GITHUB_MAX_RETRIES="0")
    with httpx.Client(
        base_url=f"{start_local_api()}/api/v1", headers={"Origin": ORIGIN}, timeout=60
    ) as client:
        yield client


@pytest.fixture
def gh(fake_github):
    fake_github.add_user("alice", ALICE_GH, id=601, name="Alice")
    fake_github.add_user("bob", BOB_GH, id=602)
    fake_github.add_repo("octo/hello", description="Hello world")
    fake_github.add_repo("octo/secret", private=True, visible_to={ALICE_GH, BOB_GH})
    fake_github.add_repo("alice/dotfiles")
    return fake_github


USERS = Cast(alice=Account(601, ALICE_GH), bob=Account(602, BOB_GH), after=("gh",))


def _rows(db) -> dict[str, int]:
    """Rows of every table: what "nothing written" is checked against."""
    db.expire_all()
    return {
        table.name: int(db.scalar(select(func.count()).select_from(table)))
        for table in Base.metadata.sorted_tables
    }


def _assert_fault_answer(response: httpx.Response, fault: str) -> None:
    """What a client sees for each upstream fault: never a 500."""
    if fault.startswith("retry_after"):
        body = _assert_error(response, 429)
        assert body["code"] == "github_rate_limited" and "rate limit" in body["detail"]
        assert 1 <= int(response.headers["retry-after"]) <= 3600
    else:
        assert _assert_error(response, 502)["code"] == "upstream_unavailable"


# --- the callers, each with the GitHub request it makes -------------------------------------------------


def _consent(fake_github, auth_url: str, gh_token: str) -> tuple[str, str]:
    fake_github.state["oauth_user"] = gh_token
    query = parse_qs(urlsplit(httpx.get(auth_url).headers["location"]).query)
    return query["code"][0], query["state"][0]


def _prepare_callback(api: httpx.Client, gh) -> dict[str, str]:
    started = api.get("/auth/github/login").json()
    code, state = _consent(gh, started["auth_url"], ALICE_GH)
    return {"code": code, "state": state}


def _generate_private_report_then_forget_the_check(api, db, user) -> None:
    """A private repository's report exists; ``user`` opened it, but their check is no longer remembered."""
    first = api.get("/reports/octo/secret/prs", params={"timeframe": "last_week"}, headers=user.headers)
    assert first.status_code == 200, first.text
    db.execute(text("DELETE FROM repository_access_checks"))
    db.commit()


CALLERS: dict[str, dict[str, Any]] = {
    "tracking": {
        "github": ("GET", r"^/repos/octo/hello$"),
        "call": lambda api, user, prep: api.post(
            "/users/me/repositories", json={"repo_url": "octo/hello"}, headers=user.headers
        ),
    },
    "search": {
        "github": ("GET", r"^/search/repositories$"),
        "call": lambda api, user, prep: api.get("/repos/search", params={"q": "hello"}, headers=user.headers),
    },
    "search_exact_lookup": {
        "github": ("GET", r"^/repos/octo/hello$"),
        "call": lambda api, user, prep: api.get(
            "/repos/search", params={"q": "https://github.com/octo/hello"}, headers=user.headers
        ),
    },
    "user_repositories": {
        "github": ("GET", r"^/user/repos$"),
        "call": lambda api, user, prep: api.get("/repos/user", params={"per_page": 50}, headers=user.headers),
    },
    "private_recheck": {
        "github": ("GET", r"^/repos/octo/secret$"),
        "prepare": lambda api, gh, db, user: _generate_private_report_then_forget_the_check(api, db, user),
        "call": lambda api, user, prep: api.get(
            "/reports/octo/secret/issues", params={"timeframe": "last_week"}, headers=user.headers
        ),
    },
    "import": {
        "github": ("GET", r"^/repos/octo/hello$"),
        "call": lambda api, user, prep: api.post(
            "/users/me/import", json={"repos": ["octo/hello"], "reports": []}, headers=user.headers
        ),
    },
    "oauth_code_exchange": {
        "github": ("POST", r"^/login/oauth/access_token$"),
        "prepare": lambda api, gh, db, user: _prepare_callback(api, gh),
        "call": lambda api, user, prep: api.post("/auth/github/callback", json=prep),
        "consumes_state": True,
    },
    "oauth_get_user": {
        "github": ("GET", r"^/user$"),
        "prepare": lambda api, gh, db, user: _prepare_callback(api, gh),
        "call": lambda api, user, prep: api.post("/auth/github/callback", json=prep),
        "consumes_state": True,
    },
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_malformed_github_answers_are_json_errors_that_write_nothing(api, gh, alice, db, caller, fault):
    spec = CALLERS[caller]
    prepare = spec.get("prepare")
    prep = prepare(api, gh, db, alice) if prepare else None
    before = _rows(db)
    method, pattern = spec["github"]
    seen = gh.count(method, pattern)
    gh.fail(method, pattern, times=5, **FAULTS[fault])

    response = spec["call"](api, alice, prep)

    _assert_fault_answer(response, fault)
    assert gh.count(method, pattern) == seen + 1  # asked once: no retry of a garbage answer
    after = _rows(db)
    if spec.get("consumes_state"):  # the single-use state is spent before GitHub is asked, by design
        assert after.pop("oauth_states") == before.pop("oauth_states") - 1
    assert after == before


@pytest.mark.parametrize(
    "profile",
    [[1, 2], {"id": "601", "login": "alice"}, {"id": 2**64, "login": "alice"}, {"login": "alice"}],
    ids=["array", "string-id", "id-beyond-bigint", "no-id"],
)
def test_oauth_callback_with_a_malformed_user_profile_is_502_and_signs_nobody_in(api, gh, db, profile):
    prep = _prepare_callback(api, gh)
    before = _rows(db)
    gh.fail("GET", r"^/user$", status=200, body=profile)
    response = api.post("/auth/github/callback", json=prep)
    assert _assert_error(response, 502)["code"] == "upstream_unavailable"
    after = _rows(db)
    assert after.pop("oauth_states") == before.pop("oauth_states") - 1
    assert after == before


def test_oauth_token_answer_that_is_an_array_is_502(api, gh, db):
    prep = _prepare_callback(api, gh)
    gh.fail("POST", r"^/login/oauth/access_token$", status=200, body=[{"access_token": "x"}])
    response = api.post("/auth/github/callback", json=prep)
    assert _assert_error(response, 502)["code"] == "upstream_unavailable"
    assert _rows(db)["sessions"] == 0 and _rows(db)["users"] == 0


# --- numbers beyond the columns: clamped, stored and served -------------------------------------------


def test_tracking_a_repository_with_2_pow_40_stars_stores_and_serves_the_integer_maximum(api, gh, alice, db):
    gh.add_repo("octo/stellar", stargazers_count=2**40)
    response = api.post("/users/me/repositories", json={"repo_url": "octo/stellar"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json()["repository"]["stargazers_count"] == PG_INTEGER_MAX
    db.expire_all()
    assert db.scalar(select(Repository.stargazers_count)) == PG_INTEGER_MAX
    [tracked] = api.get("/users/me/repositories", headers=alice.headers).json()["repositories"]
    assert tracked["stargazers_count"] == PG_INTEGER_MAX


@pytest.mark.parametrize(
    "path,params",
    [("/repos/search", {"q": "stellar"}), ("/repos/search", {"q": "octo/stellar"}), ("/repos/user", {})],
    ids=["search", "search-exact", "user-repositories"],
)
def test_listing_a_repository_with_2_pow_40_stars_serves_the_integer_maximum(api, gh, alice, path, params):
    gh.add_repo("octo/stellar", stargazers_count=2**40, visible_to={ALICE_GH}, private=True)
    response = api.get(path, params=params, headers=alice.headers)
    assert response.status_code == 200, response.text
    [stellar] = [r for r in response.json()["repositories"] if r["full_name"] == "octo/stellar"]
    assert stellar["stargazers_count"] == PG_INTEGER_MAX


def test_importing_a_repository_with_2_pow_40_stars_stores_the_integer_maximum(api, gh, alice, db):
    gh.add_repo("octo/stellar", stargazers_count=2**40)
    response = api.post("/users/me/import", json={"repos": ["octo/stellar"]}, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json()["repositories_imported"] == 1
    db.expire_all()
    assert db.scalar(select(Repository.stargazers_count)) == PG_INTEGER_MAX


def test_private_recheck_of_a_repository_with_2_pow_40_stars_serves_the_report(api, gh, alice, db):
    _generate_private_report_then_forget_the_check(api, db, alice)
    gh.repos["octo/secret"].stargazers_count = 2**40
    response = api.get("/reports/octo/secret/prs", params={"timeframe": "last_week"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json()["cached"] is True
    db.expire_all()
    assert db.scalar(select(Repository.stargazers_count)) == PG_INTEGER_MAX
    assert db.scalar(select(func.count()).select_from(RepositoryAccessCheck)) == 1


# --- links that are not GitHub's never leave the API ------------------------------------------------------


def _evil_repository(fake, req):
    payload = fake.repos["octo/hello"].payload()
    payload["html_url"] = EVIL
    payload["owner"]["avatar_url"] = "javascript:alert(document.cookie)"
    return 200, payload


def test_tracking_serves_githubs_link_not_the_payloads(api, gh, alice, db):
    gh.route("GET", r"^/repos/octo/hello$")(_evil_repository)
    response = api.post("/users/me/repositories", json={"repo_url": "octo/hello"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json()["repository"]["html_url"] == "https://github.com/octo/hello"
    db.expire_all()
    assert db.scalar(select(Repository.html_url)) == "https://github.com/octo/hello"
    listed = api.get("/users/me/repositories", headers=alice.headers).text
    assert "evil.example" not in listed and "javascript:" not in listed


def test_search_serves_githubs_links_not_the_payloads(api, gh, alice):
    gh.route("GET", r"^/repos/octo/hello$")(_evil_repository)

    @gh.route("GET", r"^/search/repositories$")
    def _evil_search(fake, req):
        item = _evil_repository(fake, req)[1]
        item["full_name"], item["id"] = "octo/hello-docs", 9999
        return 200, {"total_count": 1, "incomplete_results": False, "items": [item]}

    response = api.get("/repos/search", params={"q": "octo/hello"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    urls = {r["full_name"]: r["html_url"] for r in response.json()["repositories"]}
    assert urls == {
        "octo/hello": "https://github.com/octo/hello",
        "octo/hello-docs": "https://github.com/octo/hello-docs",
    }
    assert "evil.example" not in response.text and "javascript:" not in response.text


def test_report_items_serve_githubs_links_and_no_foreign_avatar(api, gh, alice, db):
    now = dt.datetime.now(dt.UTC)
    for i, kind in enumerate(("pr", "issue", "pr")):
        item = add_item(
            gh,
            "octo/hello",
            kind=kind,
            login=f"person{i}",
            assignees=("carol",),
            comments=5 - i,
            created_at=now - dt.timedelta(days=2),
            updated_at=now - dt.timedelta(hours=3),
        )
        item["html_url"] = EVIL
        item["user"]["avatar_url"] = "javascript:alert(document.cookie)"
        item["assignees"][0]["avatar_url"] = "data:text/html,<script>alert(1)</script>"
    answers = {
        section: api.get(
            f"/reports/octo/hello/{section}", params={"timeframe": "last_week"}, headers=alice.headers
        )
        for section in ("prs", "issues", "people")
    }
    for response in answers.values():
        assert response.status_code == 200, response.text
        assert "evil.example" not in response.text
        assert "javascript:" not in response.text and "data:text" not in response.text
    prs, issues = answers["prs"].json()["prs"], answers["issues"].json()["issues"]
    assert sorted(i["html_url"] for i in prs) == sorted(
        f"https://github.com/octo/hello/pull/{i['number']}" for i in prs
    )
    assert [i["html_url"] for i in issues] == [f"https://github.com/octo/hello/issues/{issues[0]['number']}"]
    for item in prs + issues:
        assert item["user"]["avatar_url"] is None and item["assignees"][0]["avatar_url"] is None
        assert item["user"]["profile_url"] == f"https://github.com/{item['user']['login']}"
    people = answers["people"].json()["people"]
    assert people and all(p["avatar_url"] is None for p in people)
    assert all(p["profile_url"] == f"https://github.com/{p['username']}" for p in people)
    db.expire_all()
    [stored] = db.scalars(select(Report)).all()
    assert "evil.example" not in json.dumps([stored.prs, stored.issues, stored.people])


# --- report generation: a malformed GraphQL answer is a 502, never an empty report cached ----------------
GRAPHQL = r"^/graphql$"


def _spoil(data: dict[str, Any], change: str) -> None:
    """One thing GitHub's answer to the report query must not be, in an otherwise real answer."""
    if change == "nodes-object":
        data["recentPrs"]["nodes"] = {"a": 1}
    elif change == "nodes-not-objects":
        data["recentIssues"]["nodes"] = [1, 2]
    elif change == "no-repository":
        del data["repository"]
    elif change == "repository-null-without-error":
        data["repository"] = None
    elif change == "issueCount-string":
        data["prsMerged"]["issueCount"] = "12"
    elif change == "isPrivate-null":  # Boolean! at GitHub: a null is no answer, never "public"
        data["repository"]["isPrivate"] = None
    elif change == "isPrivate-missing":
        del data["repository"]["isPrivate"]
    else:
        raise AssertionError(change)


def _spoiled_graphql(gh, change: str) -> None:
    """The fake's own answer (the query validated and executed as ever), spoiled on its way out."""
    from tools.fakes.github_graphql import _graphql

    @gh.route("POST", GRAPHQL)
    def _spoiled(fake, req):
        status, payload, headers = _graphql(fake, req)
        assert status == 200 and isinstance(payload.get("data"), dict), payload
        _spoil(payload["data"], change)
        return status, payload, headers


MALFORMED_ANSWERS: dict[str, Any] = {
    "data-array": {"data": [1, 2]},
    "errors-without-data": {
        "errors": [{"message": "Something went wrong while executing your query.", "locations": []}]
    },
}


@pytest.mark.parametrize(
    "malformed",
    [
        "data-array",
        "errors-without-data",
        "nodes-object",
        "nodes-not-objects",
        "no-repository",
        "repository-null-without-error",
        "issueCount-string",
        "isPrivate-null",
        "isPrivate-missing",
    ],
)
def test_a_malformed_graphql_answer_during_generation_is_502_and_caches_no_report(
    api, gh, alice, db, malformed
):
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    for kind in ("pr", "issue"):  # something in the window, so the spoiled lists had nodes to spoil
        add_item(gh, "octo/hello", kind=kind, login="zed", comments=2, created_at=yesterday)
    before = _rows(db)
    if malformed in MALFORMED_ANSWERS:
        gh.fail("POST", GRAPHQL, status=200, body=MALFORMED_ANSWERS[malformed], times=10)
    else:
        _spoiled_graphql(gh, malformed)
    response = api.get("/reports/octo/hello/prs", params={"timeframe": "last_week"}, headers=alice.headers)
    assert _assert_error(response, 502)["code"] == "upstream_unavailable"
    assert gh.count("POST", GRAPHQL) == 1 and gh.count() == 1  # asked once: no retry of a garbage answer
    assert gh.graphql_errors == []  # the query itself was right
    after = _rows(db)
    # Nothing but the failed job (and who asked for it): no report, no lease, not even the repository GitHub
    # did not describe.
    assert after.pop("report_jobs") == before.pop("report_jobs") + 1
    assert after.pop("report_job_requesters") == before.pop("report_job_requesters") + 1
    assert after == before


# --- deadlines: a slow GitHub answers within the request's deadline (finding 9) ---------------------------


@pytest.fixture
def short_deadline_api(start_local_api, fake_github, settings_env, monkeypatch):
    """The local API with Lambda contexts of 3 s: each request's deadline is 2 s (3 s less the margin)."""
    import tools.devserver

    monkeypatch.setattr(
        tools.devserver, "FakeLambdaContext", functools.partial(FakeLambdaContext, timeout_ms=3000)
    )
    settings_env(GITHUB_MAX_RETRIES="3")
    with httpx.Client(
        base_url=f"{start_local_api()}/api/v1", headers={"Origin": ORIGIN}, timeout=60
    ) as client:
        yield client


def test_a_slow_github_answer_ends_the_report_request_within_its_deadline(short_deadline_api, gh, alice, db):
    gh.delay("POST", GRAPHQL, seconds=8, times=10)
    response = short_deadline_api.get(
        "/reports/octo/hello/prs", params={"timeframe": "last_week"}, headers=alice.headers
    )
    body = _assert_error(response, response.status_code)
    assert response.status_code in (502, 503), response.text
    assert body["code"] in {"upstream_unavailable", "deadline_exceeded"}
    # The one GraphQL request, not retried past the deadline (4 attempts of 8 s were possible otherwise).
    assert gh.count("POST", GRAPHQL) == 1 and gh.count() == 1
    rows = _rows(db)
    assert rows["reports"] == 0 and rows["report_generations"] == 0 and rows["repositories"] == 0
    assert response.elapsed.total_seconds() < 6  # sanity only: the slow answer was not waited for


def test_a_slow_github_lookup_ends_tracking_within_its_deadline(short_deadline_api, gh, alice, db):
    before = _rows(db)
    gh.delay("GET", r"^/repos/octo/hello$", seconds=8, times=10)
    response = short_deadline_api.post(
        "/users/me/repositories", json={"repo_url": "octo/hello"}, headers=alice.headers
    )
    assert response.status_code in (502, 503), response.text
    assert _assert_error(response, response.status_code)["code"] in {
        "upstream_unavailable",
        "deadline_exceeded",
    }
    assert gh.count("GET", r"^/repos/octo/hello$") == 1
    assert _rows(db) == before


def test_import_lookups_run_within_the_requests_deadline(short_deadline_api, gh, alice, db):
    """Import looks repositories up from a thread pool: the threads carry the request's deadline too."""
    before = _rows(db)
    gh.delay("GET", r"^/repos/octo/hello$", seconds=8, times=10)
    response = short_deadline_api.post(
        "/users/me/import", json={"repos": ["octo/hello"], "reports": []}, headers=alice.headers
    )
    assert response.status_code in (502, 503), response.text
    assert _assert_error(response, response.status_code)["code"] in {
        "upstream_unavailable",
        "deadline_exceeded",
    }
    assert gh.count("GET", r"^/repos/octo/hello$") == 1
    assert _rows(db) == before


# --- httpx failures that are not transport errors: a redirect loop, a body not in its encoding ----------

HTTPX_FAULTS: dict[str, dict[str, Any]] = {
    # httpx raises TooManyRedirects, which is not a TransportError.
    "redirect_loop": {"status": 302, "body": b"", "headers": {"location": "/loop"}},
    # A body that claims gzip but is not: httpx raises DecodingError, not a TransportError either.
    "bad_gzip_200": {"status": 200, "body": b"this is not gzip", "headers": {"content-encoding": "gzip"}},
}


def _redirect_loop(gh) -> None:
    @gh.route("GET", r"^/loop$")
    def _loop(fake, req):
        return 302, b"", {"location": "/loop"}


@pytest.mark.parametrize("fault", sorted(HTTPX_FAULTS))
@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_a_redirect_loop_or_a_body_not_in_its_encoding_is_a_json_502_that_writes_nothing(
    api, gh, alice, db, caller, fault
):
    _redirect_loop(gh)
    spec = CALLERS[caller]
    prepare = spec.get("prepare")
    prep = prepare(api, gh, db, alice) if prepare else None
    before = _rows(db)
    method, pattern = spec["github"]
    seen = gh.count(method, pattern)
    gh.fail(method, pattern, times=5, **HTTPX_FAULTS[fault])

    response = spec["call"](api, alice, prep)

    assert _assert_error(response, 502)["code"] == "upstream_unavailable"
    assert gh.count(method, pattern) == seen + 1
    after = _rows(db)
    if spec.get("consumes_state"):  # the single-use state is spent before GitHub is asked, by design
        assert after.pop("oauth_states") == before.pop("oauth_states") - 1
    assert after == before


@pytest.mark.parametrize("fault", sorted(HTTPX_FAULTS))
def test_a_redirect_loop_or_a_bad_gzip_graphql_answer_during_generation_is_502_and_caches_no_report(
    api, gh, alice, db, fault
):
    _redirect_loop(gh)
    gh.fail("POST", GRAPHQL, times=5, **HTTPX_FAULTS[fault])
    response = api.get("/reports/octo/hello/prs", params={"timeframe": "last_week"}, headers=alice.headers)
    assert _assert_error(response, 502)["code"] == "upstream_unavailable"
    assert gh.count("POST", GRAPHQL) == 1
    rows = _rows(db)
    assert rows["reports"] == 0 and rows["report_generations"] == 0 and rows["repositories"] == 0


# --- a GitHub that trickles its answer: the request's deadline bounds the whole call (finding 9) ---------


@pytest.fixture
def trickling_github(gh, settings_env):
    """GITHUB_API_URL is a server that sends the repository's payload one byte every 0.4 s (8 s in all)."""
    payload = json.dumps(gh.repos["octo/hello"].payload()).encode()
    with trickling_server(payload) as (url, connections):
        settings_env(GITHUB_API_URL=url)
        yield connections


def test_a_github_answer_trickled_byte_by_byte_ends_tracking_within_the_requests_deadline(
    short_deadline_api, trickling_github, alice, db
):
    before = _rows(db)
    response = short_deadline_api.post(
        "/users/me/repositories", json={"repo_url": "octo/hello"}, headers=alice.headers
    )
    assert _assert_error(response, 503)["code"] == "deadline_exceeded"
    assert response.headers["retry-after"] == "5"
    assert len(trickling_github) == 1  # not retried: the request had no time left
    assert _rows(db) == before
    assert response.elapsed.total_seconds() < 4  # sanity only: the 8 s answer was not waited for
