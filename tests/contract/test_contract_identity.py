"""docs/api.md "Errors", "Sign-in", "Repositories", "Cross-origin" (and the docs/configuration.md variables
they use), checked from outside: real HTTP through the local API (`tools.devserver`), the fake GitHub, the
embedded Postgres. Each test names the clause it holds the backend to."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fixtures_identity import OAUTH_ENV, Account, Cast
from helpers import assert_error as _is_error
from sqlalchemy import func, select, update

from oss_tldr.db.models import Base, OAuthState, Repository, User, UserRepository, UserSession
from tools.lambda_local import load_routes

ORIGIN = "http://localhost:5173"
ALICE_GH, BOB_GH = "gho_fake_alice_contract", "gho_fake_bob_contract"
USER_KEYS = {"id", "login", "name", "email", "avatar_url"}
REPOSITORY_KEYS = {
    "id",
    "name",
    "full_name",
    "owner",
    "description",
    "html_url",
    "private",
    "fork",
    "archived",
    "language",
    "stargazers_count",
    "updated_at",
}


@pytest.fixture
def api(start_local_api, fake_github, settings_env):
    settings_env(**OAUTH_ENV, GITHUB_MAX_RETRIES="0")
    base = f"{start_local_api()}/api/v1"
    with httpx.Client(base_url=base, headers={"Origin": ORIGIN}, timeout=60) as client:
        yield client


@pytest.fixture
def gh(fake_github):
    fake_github.add_user("alice", ALICE_GH, id=501, name="Alice A.", email="alice@example.com")
    fake_github.add_user("bob", BOB_GH, id=502)
    fake_github.add_repo("octo/hello", description="Hello world")
    fake_github.add_repo("octo/hello-docs", description="docs for octo/hello")
    fake_github.add_repo("octo/secret", private=True, visible_to={ALICE_GH})
    fake_github.add_repo("alice/dotfiles")
    return fake_github


USERS = Cast(alice=Account(501, ALICE_GH), bob=Account(502, BOB_GH), after=("gh",))


def _count(db, model) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)))


def _consent(fake_github, auth_url: str, gh_token: str) -> tuple[str, str]:
    """The browser at GitHub: the user consents, GitHub redirects back with code and state."""
    fake_github.state["oauth_user"] = gh_token
    redirect = httpx.get(auth_url).headers["location"]
    query = parse_qs(urlsplit(redirect).query)
    return query["code"][0], query["state"][0]


def _sign_in(api: httpx.Client, fake_github, gh_token: str = ALICE_GH) -> httpx.Response:
    started = api.get("/auth/github/login").json()
    code, state = _consent(fake_github, started["auth_url"], gh_token)
    return api.post("/auth/github/callback", json={"code": code, "state": state})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------------------------- Auth


def test_login_answers_state_and_an_authorize_url_with_client_redirect_scope_state_and_s256(api, gh):
    response = api.get("/auth/github/login")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"state", "auth_url"} and isinstance(body["state"], str) and body["state"]
    url = urlsplit(body["auth_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{gh.url}/login/oauth/authorize"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["client_id"] == OAUTH_ENV["GITHUB_CLIENT_ID"]
    assert query["redirect_uri"] == OAUTH_ENV["OAUTH_REDIRECT_URI"]
    assert query["scope"] == "repo read:user"
    assert query["state"] == body["state"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", query["code_challenge"])  # base64url(SHA-256), no padding
    assert query["code_challenge_method"] == "S256"
    assert api.get("/auth/github/login").json()["state"] != body["state"]


def test_callback_signs_in_with_the_contract_shape_after_a_json_code_exchange_and_get_user(api, gh, db):
    response = _sign_in(api, gh)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_at", "user"}
    assert body["token_type"] == "bearer" and isinstance(body["access_token"], str)
    expires_at = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires_at.tzinfo is not None and expires_at > dt.datetime.now(dt.UTC)
    assert body["user"] == {
        "id": 501,
        "login": "alice",
        "name": "Alice A.",
        "email": "alice@example.com",
        "avatar_url": "https://avatars.githubusercontent.com/u/501?v=4",
    }
    # The code went to POST {GITHUB_WEB_URL}/login/oauth/access_token asking for JSON (with the PKCE
    # verifier), then GET {GITHUB_API_URL}/user with the new token.
    [exchange] = gh.state["oauth_exchanges"]
    assert "application/json" in exchange["accept"] and exchange["body"]["code_verifier"]
    assert gh.count("POST", r"^/login/oauth/access_token$") == 1
    user_calls = [h for m, p, _, h in gh.requests if m == "GET" and p == "/user"]
    assert [h["authorization"] for h in user_calls] == [f"Bearer {ALICE_GH}"]
    # The GitHub token is in no response and is stored only encrypted.
    assert ALICE_GH not in response.text
    me = api.get("/auth/me", headers=_bearer(body["access_token"]))
    assert me.json() == body["user"] and ALICE_GH not in me.text
    for table in Base.metadata.sorted_tables:
        assert ALICE_GH not in str(db.execute(select(table)).all()), table.name


def test_a_reused_unknown_or_expired_state_is_400_and_creates_no_session(api, gh, db):
    started = api.get("/auth/github/login").json()
    code, state = _consent(gh, started["auth_url"], ALICE_GH)
    assert api.post("/auth/github/callback", json={"code": code, "state": state}).status_code == 200
    sessions = _count(db, UserSession)

    _is_error(api.post("/auth/github/callback", json={"code": code, "state": state}), 400)  # reused
    _is_error(api.post("/auth/github/callback", json={"code": code, "state": "never-issued"}), 400)
    started = api.get("/auth/github/login").json()
    code, state = _consent(gh, started["auth_url"], BOB_GH)
    db.execute(update(OAuthState).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    db.commit()
    _is_error(api.post("/auth/github/callback", json={"code": code, "state": state}), 400)  # expired
    assert _count(db, UserSession) == sessions
    assert db.scalar(select(func.count()).select_from(User).where(User.login == "bob")) == 0


def test_a_state_is_valid_for_ten_minutes(api, gh, db):
    started = api.get("/auth/github/login").json()
    db.expire_all()
    expires_at = db.scalar(select(OAuthState.expires_at))
    assert dt.timedelta(minutes=9) < expires_at - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=10)
    code, state = _consent(gh, started["auth_url"], ALICE_GH)
    assert api.post("/auth/github/callback", json={"code": code, "state": state}).status_code == 200


def test_validate_is_200_valid_false_for_a_missing_bad_or_expired_token(api, alice, db):
    from oss_tldr.identity.sessions import sign_session_token

    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    expired_jwt = sign_session_token(alice.id, alice.session_id, past)
    for headers in (
        {},
        _bearer("not-a-token"),
        _bearer(alice.token + "x"),
        _bearer(expired_jwt),
        {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        {"Authorization": alice.token},
    ):
        response = api.post("/auth/validate", json={}, headers=headers)
        assert (response.status_code, response.json()) == (200, {"valid": False}), headers
        assert response.headers["access-control-allow-origin"] == ORIGIN
    valid = api.post("/auth/validate", json={}, headers=alice.headers).json()
    assert valid["valid"] is True and set(valid["user"]) == USER_KEYS and valid["user"]["id"] == alice.id
    # A session whose row has expired is no longer valid either.
    db.execute(update(UserSession).values(expires_at=past))
    db.commit()
    assert api.post("/auth/validate", json={}, headers=alice.headers).json() == {"valid": False}
    _is_error(api.get("/auth/me", headers=alice.headers), 401)


def test_validate_ignores_the_body(api, alice):
    for content in (b"", b"null", b"[]", b"{not json"):
        response = api.post(
            "/auth/validate", content=content, headers={**alice.headers, "content-type": "application/json"}
        )
        assert response.status_code == 200 and response.json()["valid"] is True


def test_logout_answers_ok_and_the_token_stops_working_at_once(api, gh, alice):
    token = _sign_in(api, gh).json()["access_token"]
    headers = _bearer(token)
    assert api.get("/repos/user", headers=headers).status_code == 200
    response = api.post("/auth/logout", headers=headers)
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert api.post("/auth/validate", json={}, headers=headers).json() == {"valid": False}
    for method, path in (("GET", "/auth/me"), ("GET", "/repos/user"), ("POST", "/auth/logout")):
        _is_error(api.request(method, path, headers=headers), 401)
    assert api.get("/auth/me", headers=alice.headers).status_code == 200  # other sessions keep working


def test_me_is_the_user(api, alice):
    response = api.get("/auth/me", headers=alice.headers)
    assert response.status_code == 200
    assert response.json() == {
        "id": 501,
        "login": "alice",
        "name": None,
        "email": None,
        "avatar_url": "https://avatars.githubusercontent.com/u/501?v=4",
    }


def test_sign_in_without_an_oauth_app_is_503(api, gh, settings_env):
    settings_env(GITHUB_CLIENT_ID=None, GITHUB_CLIENT_SECRET=None)
    _is_error(api.get("/auth/github/login"), 503)


# ------------------------------------------------------------------------------------- Repositories


def _assert_repository(repo: dict) -> None:
    assert set(repo) == REPOSITORY_KEYS, repo
    assert isinstance(repo["id"], int) and not isinstance(repo["id"], bool)
    assert isinstance(repo["stargazers_count"], int) and not isinstance(repo["stargazers_count"], bool)
    assert repo["full_name"] == f"{repo['owner']}/{repo['name']}"
    assert all(isinstance(repo[k], bool) for k in ("private", "fork", "archived"))


def test_user_repos_are_the_callers_github_repos_with_per_page(api, gh, alice):
    response = api.get("/repos/user", params={"per_page": 50}, headers=alice.headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"repositories"}
    assert sorted(r["full_name"] for r in body["repositories"]) == ["alice/dotfiles", "octo/secret"]
    for repo in body["repositories"]:
        _assert_repository(repo)
    [(_, _, query, headers)] = [r for r in gh.requests if r[1] == "/user/repos"]
    assert query["per_page"] == "50" and headers["authorization"] == f"Bearer {ALICE_GH}"


@pytest.mark.parametrize("stars", [None, "many", True])
def test_stargazers_count_is_always_a_number(api, gh, alice, stars):
    gh.add_repo("alice/odd-stars", stargazers_count=stars)
    response = api.get("/repos/user", params={"per_page": 50}, headers=alice.headers)
    [odd] = [r for r in response.json()["repositories"] if r["name"] == "odd-stars"]
    _assert_repository(odd)
    assert odd["stargazers_count"] == 0
    tracked = api.post("/users/me/repositories", json={"repo_url": "alice/odd-stars"}, headers=alice.headers)
    _assert_repository(tracked.json()["repository"])
    _assert_repository(api.get("/users/me/repositories", headers=alice.headers).json()["repositories"][0])


def test_search_answers_repositories_and_total_count(api, gh, alice):
    response = api.get("/repos/search", params={"q": "hello", "per_page": 20}, headers=alice.headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"repositories", "total_count"} and isinstance(body["total_count"], int)
    assert {r["full_name"] for r in body["repositories"]} == {"octo/hello", "octo/hello-docs"}
    assert body["total_count"] >= len(body["repositories"])
    for repo in body["repositories"]:
        _assert_repository(repo)
    [(_, _, query, _)] = [r for r in gh.requests if r[1] == "/search/repositories"]
    assert query["per_page"] == "20"


@pytest.mark.parametrize(
    "q",
    [
        "octo/hello",
        "https://github.com/octo/hello",
        "https://github.com/octo/hello.git",
        "https://github.com/octo/hello/",
        "https://www.github.com/octo/hello",
        "https://github.com/octo/hello/tree/main/docs",
        "https://github.com/Octo/Hello",
    ],
)
def test_a_search_naming_a_repository_returns_that_exact_repository_first(api, gh, alice, q):
    gh.add_repo("fans/octo-hello-fanclub", description="we love octo/hello", stargazers_count=10_000)
    body = api.get("/repos/search", params={"q": q, "per_page": 20}, headers=alice.headers).json()
    assert body["repositories"][0]["full_name"] == "octo/hello"
    names = [r["full_name"] for r in body["repositories"]]
    assert len(names) == len(set(names)) and body["total_count"] >= len(names)


def test_a_search_for_a_private_repository_finds_it_only_for_who_can_see_it(api, gh, alice, bob):
    seen = api.get("/repos/search", params={"q": "octo/secret"}, headers=alice.headers).json()
    assert seen["repositories"][0]["full_name"] == "octo/secret"
    hidden = api.get("/repos/search", params={"q": "octo/secret"}, headers=bob.headers)
    assert hidden.status_code == 200
    assert all(r["full_name"] != "octo/secret" for r in hidden.json()["repositories"])


@pytest.mark.parametrize("params", [{"q": "", "per_page": 20}, {"q": "   "}, {}])
def test_an_empty_search_is_200_with_no_repositories(api, gh, alice, params):
    response = api.get("/repos/search", params=params, headers=alice.headers)
    assert (response.status_code, response.json()) == (200, {"repositories": [], "total_count": 0})
    assert gh.count("GET", r"^/search/") == 0


def test_tracking_answers_the_repository_is_idempotent_and_the_list_is_newest_first(api, gh, alice, db):
    first = api.post("/users/me/repositories", json={"repo_url": "octo/hello"}, headers=alice.headers)
    assert first.status_code == 200 and set(first.json()) == {"repository"}
    _assert_repository(first.json()["repository"])
    assert first.json()["repository"]["full_name"] == "octo/hello"
    api.post("/users/me/repositories", json={"repo_url": "alice/dotfiles"}, headers=alice.headers)
    again = api.post(
        "/users/me/repositories",
        json={"repo_url": "https://github.com/octo/hello.git"},
        headers=alice.headers,
    )
    assert again.status_code == 200 and again.json() == first.json()
    assert (_count(db, Repository), _count(db, UserRepository)) == (2, 2)
    listed = api.get("/users/me/repositories", headers=alice.headers)
    assert listed.status_code == 200 and set(listed.json()) == {"repositories"}
    assert [r["full_name"] for r in listed.json()["repositories"]] == ["alice/dotfiles", "octo/hello"]
    # Checked on GitHub with the caller's own token.
    lookups = [h for m, p, _, h in gh.requests if p.startswith("/repos/")]
    assert lookups and all(h["authorization"] == f"Bearer {ALICE_GH}" for h in lookups)


def test_a_private_repository_the_caller_cannot_see_is_404_like_a_missing_one(api, gh, bob, db):
    hidden = _is_error(
        api.post("/users/me/repositories", json={"repo_url": "octo/secret"}, headers=bob.headers), 404
    )
    missing = _is_error(
        api.post("/users/me/repositories", json={"repo_url": "octo/nope"}, headers=bob.headers), 404
    )
    assert hidden == missing
    assert (_count(db, Repository), _count(db, UserRepository)) == (0, 0)


@pytest.mark.parametrize(
    "repo_url",
    [
        "octo/hello",
        "https://github.com/octo/hello",
        "https://github.com/octo/hello.git",
        "https://github.com/octo/hello/",
        "https://www.github.com/octo/hello",
        "https://github.com/octo/hello/pulls/3",
    ],
)
def test_every_repo_url_form_of_the_contract_is_accepted(api, gh, alice, repo_url):
    response = api.post("/users/me/repositories", json={"repo_url": repo_url}, headers=alice.headers)
    assert response.status_code == 200 and response.json()["repository"]["full_name"] == "octo/hello"
    removed = api.request(
        "DELETE", "/users/me/repositories", json={"repo_url": repo_url}, headers=alice.headers
    )
    assert removed.json() == {"removed": True}


@pytest.mark.parametrize(
    "repo_url",
    [
        "",
        "octo",
        "octo/hello/extra",
        "https://gitlab.com/octo/hello",
        "https://github.com/octo",
        "ftp://github.com/octo/hello",
        "javascript:alert(1)",
        "https://user:pw@github.com/octo/hello",
        "https://github.com:8443/octo/hello",
        "octo/hel lo",
        "ü/ö",
        "octo/" + "h" * 5000,
        "-octo/hello",
    ],
)
def test_anything_else_is_400_and_touches_neither_github_nor_the_database(api, gh, alice, db, repo_url):
    for method in ("POST", "DELETE"):
        response = api.request(
            method, "/users/me/repositories", json={"repo_url": repo_url}, headers=alice.headers
        )
        _is_error(response, 400)
    assert gh.count() == 0 and _count(db, Repository) == 0


def test_untracking_by_url_or_id_answers_removed_true_then_false(api, gh, alice, bob, db):
    hello = api.post("/users/me/repositories", json={"repo_url": "octo/hello"}, headers=alice.headers)
    dotfiles = api.post("/users/me/repositories", json={"repo_url": "alice/dotfiles"}, headers=alice.headers)
    api.post("/users/me/repositories", json={"repo_url": "octo/hello"}, headers=bob.headers)
    by_url = {"repo_url": "https://github.com/octo/hello"}
    for expected in (True, False):
        response = api.request("DELETE", "/users/me/repositories", json=by_url, headers=alice.headers)
        assert (response.status_code, response.json()) == (200, {"removed": expected})
    repo_id = dotfiles.json()["repository"]["id"]
    # Someone else's id removes nothing of theirs.
    response = api.delete(f"/users/me/repositories/{repo_id}", headers=bob.headers)
    assert (response.status_code, response.json()) == (200, {"removed": False})
    for expected in (True, False):
        response = api.delete(f"/users/me/repositories/{repo_id}", headers=alice.headers)
        assert (response.status_code, response.json()) == (200, {"removed": expected})
    assert [
        r["full_name"] for r in api.get("/users/me/repositories", headers=bob.headers).json()["repositories"]
    ] == [hello.json()["repository"]["full_name"]]
    assert api.get("/users/me/repositories", headers=alice.headers).json() == {"repositories": []}


def test_import_answers_the_three_counts_and_is_idempotent(api, gh, alice, db):
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    export = {
        "repos": ["octo/hello", {"full_name": "alice/dotfiles", "stargazers_count": 3}, "not a repo", 7],
        "reports": [
            {
                "repo": "octo/hello",
                "timeframe": "last_week",
                "data": {"prs": [], "issues": [], "people": [], "tldr": "Quiet week."},
                "generatedAt": now,
                "version": 1,
            },
            {"repo": "octo/hello", "timeframe": "last_decade", "data": {}, "generatedAt": now, "version": 1},
        ],
    }
    first = api.post("/users/me/import", json=export, headers=alice.headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"repositories_imported": 2, "reports_imported": 1, "skipped": 3}
    second = api.post("/users/me/import", json=export, headers=alice.headers)
    assert second.json() == {"repositories_imported": 0, "reports_imported": 0, "skipped": 3}
    assert _count(db, UserRepository) == 2
    assert all(isinstance(v, int) for v in second.json().values())


# ------------------------------------------------------------------------------------------- Errors


PROTECTED = [
    ("POST", "/auth/logout"),
    ("GET", "/auth/me"),
    ("GET", "/repos/user?per_page=50"),
    ("GET", "/repos/search?q=hello&per_page=20"),
    ("GET", "/users/me/repositories"),
    ("POST", "/users/me/repositories"),
    ("DELETE", "/users/me/repositories"),
    ("DELETE", "/users/me/repositories/123"),
    ("POST", "/users/me/import"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_a_missing_or_bad_session_is_401_before_the_body_is_looked_at(api, gh, method, path):
    for authorization in (None, "Bearer not.a.jwt", "Basic YWxpY2U6c2VjcmV0"):
        for body in (None, b"{not json", b"[]", b'{"repo_url": 5, "repos": "x"}', b"\xff\xfe"):
            headers = {"content-type": "application/json"} if body is not None else {}
            if authorization:
                headers["Authorization"] = authorization
            _is_error(api.request(method, path, content=body, headers=headers), 401)
    assert gh.count() == 0


def test_a_revoked_session_is_401_even_with_a_bad_body(api, alice, db):
    db.execute(update(UserSession).values(revoked_at=dt.datetime.now(dt.UTC)))
    db.commit()
    response = api.post(
        "/users/me/repositories",
        content=b"[1,2",
        headers={**alice.headers, "content-type": "application/json"},
    )
    _is_error(response, 401)


BAD_BODIES = [
    pytest.param(b"{not json", "application/json", id="malformed-json"),
    pytest.param(b"", "application/json", id="empty-body"),
    pytest.param(None, None, id="no-body"),
    pytest.param(b"null", "application/json", id="null"),
    pytest.param(b"[]", "application/json", id="array"),
    pytest.param(b'[{"repo_url": "octo/hello"}]', "application/json", id="array-of-objects"),
    pytest.param(b'"octo/hello"', "application/json", id="string"),
    pytest.param(b'{"repo_url": 5}', "application/json", id="number"),
    pytest.param(b'{"repo_url": null}', "application/json", id="null-field"),
    pytest.param(b'{"repo_url": ["octo/hello"]}', "application/json", id="array-field"),
    pytest.param(b'{"repo_url": {"a": 1}}', "application/json", id="object-field"),
    pytest.param(b'{"repo_url": true}', "application/json", id="bool-field"),
    pytest.param(b'{"repo_url": "\\u0000octo/hello"}', "application/json", id="nul-char"),
    pytest.param(json.dumps({"repo_url": "🦄" * 20000}).encode(), "application/json", id="huge-unicode"),
    pytest.param(b"\xff\xfe\x00{", "application/json", id="not-utf8"),
    pytest.param(b'{"repo_url": "octo/hello"}', "text/plain", id="text-plain"),
    pytest.param(b'{"repo_url": "octo/hello"}', "application/xml", id="xml"),
    pytest.param(b"repo_url=octo%2Fhello&repo_url=a%2Fb", "application/x-www-form-urlencoded", id="form"),
    pytest.param(b'{"repo_url": "octo/hello"', "application/json; charset=utf-8", id="truncated"),
    pytest.param(b'{"repo_url": "' + b"a" * 70_000 + b'"}', "application/json", id="64k-string"),
]


@pytest.mark.parametrize(("content", "content_type"), BAD_BODIES)
@pytest.mark.parametrize(
    "method_path",
    [
        ("POST", "/users/me/repositories"),
        ("DELETE", "/users/me/repositories"),
        ("POST", "/users/me/import"),
        ("POST", "/auth/github/callback"),
    ],
)
def test_bad_bodies_are_a_json_4xx_with_cors_never_a_500_and_write_nothing(
    api, gh, alice, db, method_path, content, content_type
):
    method, path = method_path
    headers = dict(alice.headers)
    if content_type:
        headers["content-type"] = content_type
    response = api.request(method, path, content=content, headers=headers)
    if path == "/users/me/import" and response.status_code == 200:
        # The import skips what it cannot use (a body that is an object with neither key imports nothing).
        assert response.json() == {"repositories_imported": 0, "reports_imported": 0, "skipped": 0}
    else:
        _is_error(response, (400, 413, 422))
    assert (_count(db, Repository), _count(db, UserRepository)) == (0, 0)
    assert _count(db, UserSession) == 1  # alice's own, nothing created


@pytest.mark.parametrize(
    "path",
    [
        "/repos/user?per_page=abc",
        "/repos/user?per_page=0",
        "/repos/user?per_page=100000000000000000000",
        "/repos/search?q=hello&per_page=-1",
        "/repos/search?q=" + "a" * 300,
        "/repos/search?q=%F0%9F%A6%84&per_page=1.5",
        "/users/me/repositories/abc",
        "/users/me/repositories/0",
        "/users/me/repositories/99999999999999999999999",
    ],
)
def test_bad_parameters_are_a_json_4xx(api, alice, path):
    method = "DELETE" if path.startswith("/users/me/repositories/") else "GET"
    _is_error(api.request(method, path, headers=alice.headers), (400, 422))


def test_an_oversized_body_is_413_before_it_is_parsed(api, gh, alice):
    small_limit = b"{" + b'"x": 1,' * 20_000  # 140 kB of broken JSON: over the 64 kB of AuthFunction
    _is_error(
        api.post("/auth/github/callback", content=small_limit, headers={"content-type": "application/json"}),
        413,
    )
    big = b"[" + b"1," * (3 * 1024 * 1024)  # 6 MB: over the import's 5 MB
    _is_error(
        api.post(
            "/users/me/import", content=big, headers={**alice.headers, "content-type": "application/json"}
        ),
        413,
    )


def test_a_github_rate_limit_is_429_with_retry_after_and_the_words_rate_limit(api, gh, alice, db):
    reset = int(dt.datetime.now(dt.UTC).timestamp()) + 120
    gh.fail(
        "GET",
        r"^/repos/",
        status=403,
        body={"message": "API rate limit exceeded for user."},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    response = api.post("/users/me/repositories", json={"repo_url": "octo/hello"}, headers=alice.headers)
    body = _is_error(response, 429)
    assert "rate limit" in body["detail"].lower()
    assert int(response.headers["retry-after"]) >= 1
    # ... and the SPA, on another origin, may read it.
    assert "retry-after" in response.headers["access-control-expose-headers"].lower()
    assert _count(db, UserRepository) == 0
    gh.fail("GET", r"^/user/repos$", status=429, headers={"retry-after": "30"})
    response = api.get("/repos/user", headers=alice.headers)
    assert "rate limit" in _is_error(response, 429)["detail"].lower()
    assert int(response.headers["retry-after"]) >= 30


@pytest.mark.parametrize("status", [500, 502, 503])
def test_github_unavailable_is_502_or_503(api, gh, alice, db, status):
    gh.fail("GET", r"^/repos/", status=status, times=10)
    _is_error(
        api.post("/users/me/repositories", json={"repo_url": "octo/hello"}, headers=alice.headers), (502, 503)
    )
    gh.fail("GET", r"^/search/repositories$", status=status, times=10)
    _is_error(api.get("/repos/search", params={"q": "hello"}, headers=alice.headers), (502, 503))
    assert _count(db, UserRepository) == 0


def test_github_unreachable_is_502(api, gh, alice, settings_env):
    settings_env(GITHUB_API_URL="http://127.0.0.1:9")
    _is_error(api.get("/repos/user", headers=alice.headers), (502, 503))


def test_admin_routes_are_403_for_a_signed_in_non_admin(api, alice, settings_env):
    settings_env(ADMIN_LOGINS="root")
    _is_error(api.get("/reports", headers=alice.headers), 403)
    _is_error(api.delete("/reports", params={"repo": "octo/hello"}, headers=alice.headers), 403)


def test_an_unknown_route_is_a_json_404_with_cors(api, alice):
    _is_error(api.get("/no/such/route", headers=alice.headers), 404)
    _is_error(api.request("PUT", "/users/me/repositories", headers=alice.headers), 404)


# ------------------------------------------------------------------------------------- Cross-origin


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "123", path)


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:5173"])
def test_every_route_answers_a_preflight_without_auth_naming_the_methods_and_headers(api, origin):
    routes = load_routes()
    assert len(routes) >= 20
    for route in routes:
        response = api.options(
            api.base_url.copy_with(path=_concrete(route.path)),
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": route.method,
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert response.status_code in (200, 204), route
        assert response.headers["access-control-allow-origin"] == origin
        methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
        assert {"GET", "POST", "DELETE"} <= methods
        allowed = [h.strip() for h in response.headers["access-control-allow-headers"].split(",")]
        assert (
            "Authorization" in allowed and "Content-Type" in allowed
        )  # by name, as the contract writes them
        assert "*" not in allowed


def test_an_options_request_without_preflight_headers_is_answered_too(api):
    response = api.options("/users/me/repositories")
    assert response.status_code in (200, 204)
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_origins_come_from_cors_allow_origins(start_local_api, settings_env):
    settings_env(CORS_ALLOW_ORIGINS="https://spa.example")
    base = f"{start_local_api()}/api/v1"
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = httpx.options(f"{base}/auth/me", headers={"Origin": "https://spa.example", **preflight})
    assert allowed.headers["access-control-allow-origin"] == "https://spa.example"
    refused = httpx.options(f"{base}/auth/me", headers={"Origin": ORIGIN, **preflight})
    assert "access-control-allow-origin" not in refused.headers
    error = httpx.get(f"{base}/auth/me", headers={"Origin": "https://spa.example"})
    assert error.status_code == 401 and error.headers["access-control-allow-origin"] == "https://spa.example"
