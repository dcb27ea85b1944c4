"""The Repos function: tracking (every URL form, idempotent, shared metadata rows), BOLA, search, the
caller's GitHub repositories. GitHub is the fake; every call uses the caller's own token."""

from __future__ import annotations

import pytest
from fixtures_identity import Account, Cast
from helpers import call
from sqlalchemy import func, select

from oss_tldr.db.models import Repository, UserRepository

ALICE_GH, BOB_GH = "gho_fake_alice", "gho_fake_bob"


@pytest.fixture
def gh(fake_github):
    fake_github.add_user("alice", ALICE_GH, id=1)
    fake_github.add_user("bob", BOB_GH, id=2)
    fake_github.add_repo("Octo-Org/Hello.World", description="Hello world in many languages")
    fake_github.add_repo("octo-org/secret", private=True, visible_to={ALICE_GH})
    fake_github.add_repo("alice/dotfiles", description="my dotfiles")
    return fake_github


USERS = Cast(alice=Account(1, ALICE_GH), bob=Account(2, BOB_GH), after=("gh",))


def _track(ctx, user, repo_url):
    return call("ReposFunction", "repos_track.json", ctx, headers=user.headers, body={"repo_url": repo_url})


def _tracked(ctx, user):
    status, body, _ = call("ReposFunction", "repos_list_tracked.json", ctx, headers=user.headers)
    assert status == 200, body
    return [r["full_name"] for r in body["repositories"]]


def _rows(db):
    db.expire_all()
    repos = db.scalar(select(func.count()).select_from(Repository))
    tracking = db.scalar(select(func.count()).select_from(UserRepository))
    return repos, tracking


@pytest.mark.parametrize(
    "repo_url",
    [
        "https://github.com/Octo-Org/Hello.World",
        "https://github.com/octo-org/hello.world.git",
        "https://github.com/octo-org/hello.world/",
        "https://www.github.com/octo-org/hello.world",
        "https://github.com/octo-org/hello.world/tree/main/docs",
        "octo-org/hello.world",
    ],
)
def test_tracking_accepts_every_url_form(alice, lambda_context, db, repo_url):
    status, body, _ = _track(lambda_context, alice, repo_url)
    assert status == 200, body
    repo = body["repository"]
    assert repo["full_name"] == "Octo-Org/Hello.World"  # GitHub's display casing
    assert set(repo) == {
        "id", "name", "full_name", "owner", "description", "html_url", "private", "fork", "archived",
        "language", "stargazers_count", "updated_at",
    }  # fmt: skip
    assert repo["owner"] == "Octo-Org" and repo["stargazers_count"] == 42
    assert db.scalar(select(Repository.full_name)) == "octo-org/hello.world"  # the case-insensitive key
    assert _rows(db) == (1, 1)


def test_tracking_twice_keeps_one_row(alice, lambda_context, db):
    for url in ("octo-org/hello.world", "https://github.com/OCTO-ORG/HELLO.WORLD"):
        assert _track(lambda_context, alice, url)[0] == 200
    assert _rows(db) == (1, 1)
    assert _tracked(lambda_context, alice) == ["Octo-Org/Hello.World"]


def test_two_users_tracking_one_repository_share_its_row(alice, bob, lambda_context, db):
    _track(lambda_context, alice, "octo-org/hello.world")
    _track(lambda_context, bob, "https://github.com/octo-org/hello.world")
    assert _rows(db) == (1, 2)


def test_tracking_checks_the_repository_with_the_callers_token(alice, gh, lambda_context):
    _track(lambda_context, alice, "octo-org/hello.world")
    auth = [h.get("authorization") for m, p, _, h in gh.requests if p == "/repos/octo-org/hello.world"]
    assert auth == [f"Bearer {ALICE_GH}"]


@pytest.mark.parametrize(
    "repo_url",
    [
        "",
        "javascript:alert(document.cookie)",
        "https://evil.com/a/b",
        "owner/",
        "x" * 10_240,
        "octo'; DROP TABLE repositories; --/x",
        "owner/repo' OR '1'='1",
        "../../etc/passwd",
        "https://github.com/../../etc/passwd",
        "octo-org/..",
        "https://github.com@evil.com/a/b",
    ],
)
def test_malformed_repo_urls_are_400_and_write_nothing(alice, gh, lambda_context, db, repo_url):
    status, body, _ = _track(lambda_context, alice, repo_url)
    assert (status, body["code"]) == (400, "invalid_repo")
    assert _rows(db) == (0, 0)
    assert gh.count("GET", r"^/repos/") == 0


@pytest.mark.parametrize("body", [{}, {"repo_url": 12}, {"repo_url": None}, [], "nope"])
def test_wrong_body_types_are_a_4xx_and_write_nothing(alice, lambda_context, db, body):
    status, answer, _ = call(
        "ReposFunction", "repos_track.json", lambda_context, headers=alice.headers, body=body
    )
    assert status in (400, 422) and set(answer) == {"detail", "code"}
    assert _rows(db) == (0, 0)


def test_missing_repository_is_404_and_writes_nothing(alice, lambda_context, db):
    status, body, _ = _track(lambda_context, alice, "octo-org/nope")
    assert (status, body["code"]) == (404, "repository_not_found")
    assert _rows(db) == (0, 0)


def test_private_repository_is_404_for_someone_who_cannot_see_it(alice, bob, lambda_context, db):
    assert _track(lambda_context, alice, "octo-org/secret")[0] == 200
    status, body, _ = _track(lambda_context, bob, "octo-org/secret")
    missing = _track(lambda_context, bob, "octo-org/does-not-exist")
    assert status == 404 and (status, body) == missing[:2]  # indistinguishable from a missing one
    assert _tracked(lambda_context, bob) == []
    assert _rows(db) == (1, 1)


def test_tracked_list_is_newest_first_and_only_the_callers(alice, bob, lambda_context):
    _track(lambda_context, alice, "octo-org/hello.world")
    _track(lambda_context, alice, "alice/dotfiles")
    _track(lambda_context, bob, "octo-org/hello.world")
    assert _tracked(lambda_context, alice) == ["alice/dotfiles", "Octo-Org/Hello.World"]
    assert _tracked(lambda_context, bob) == ["Octo-Org/Hello.World"]


def test_untrack_by_url_removes_only_the_callers_row(alice, bob, lambda_context, db):
    _track(lambda_context, alice, "octo-org/hello.world")
    _track(lambda_context, bob, "octo-org/hello.world")
    untrack = ("ReposFunction", "repos_untrack.json", lambda_context)
    body = {"repo_url": "https://github.com/octo-org/hello.world"}
    assert call(*untrack, headers=bob.headers, body=body)[:2] == (200, {"removed": True})
    assert call(*untrack, headers=bob.headers, body=body)[:2] == (200, {"removed": False})
    assert _tracked(lambda_context, alice) == ["Octo-Org/Hello.World"]
    assert _rows(db) == (1, 1)
    status, answer, _ = call(*untrack, headers=bob.headers, body={"repo_url": "javascript:x"})
    assert (status, answer["code"]) == (400, "invalid_repo")


def test_user_b_cannot_untrack_user_as_row_by_id(alice, bob, lambda_context, db):
    repo_id = _track(lambda_context, alice, "octo-org/secret")[1]["repository"]["id"]
    path = f"/api/v1/users/me/repositories/{repo_id}"
    untrack = ("ReposFunction", "repos_untrack_id.json", lambda_context)
    status, body, _ = call(*untrack, headers=bob.headers, path=path, params={"id": str(repo_id)})
    assert (status, body) == (200, {"removed": False})
    assert _rows(db) == (1, 1)
    status, body, _ = call(*untrack, headers=alice.headers, path=path, params={"id": str(repo_id)})
    assert (status, body) == (200, {"removed": True})
    assert _rows(db) == (1, 0)


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "99999999999999999999999", "1;DROP"])
def test_untrack_by_malformed_id_is_a_4xx(alice, lambda_context, bad_id):
    status, body, _ = call(
        "ReposFunction",
        "repos_untrack_id.json",
        lambda_context,
        headers=alice.headers,
        path=f"/api/v1/users/me/repositories/{bad_id}",
        params={"id": bad_id},
    )
    assert status in (400, 404, 422) and set(body) == {"detail", "code"}


@pytest.mark.parametrize(
    "event",
    [
        "repos_user.json",
        "repos_search.json",
        "repos_list_tracked.json",
        "repos_track.json",
        "repos_untrack.json",
        "repos_untrack_id.json",
        "repos_import.json",
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer fake.not.ajwt", "Basic YWxpY2U6c2VjcmV0"])
def test_every_repos_route_is_401_without_a_valid_session(engine, gh, lambda_context, event, authorization):
    headers = {"authorization": authorization} if authorization else {}
    status, body, _ = call("ReposFunction", event, lambda_context, headers=headers)
    assert status == 401 and set(body) == {"detail", "code"}
    assert not gh.requests


def test_search_puts_the_exact_repository_first_then_search_results(alice, gh, lambda_context):
    gh.add_repo("someone/hello.world-fork", description="octo-org/hello.world fork", stargazers_count=999)
    status, body, _ = call(
        "ReposFunction",
        "repos_search.json",
        lambda_context,
        headers=alice.headers,
        query={"q": "https://github.com/octo-org/hello.world", "per_page": "20"},
    )
    assert status == 200, body
    names = [r["full_name"] for r in body["repositories"]]
    assert names[0] == "Octo-Org/Hello.World"
    assert names.count("Octo-Org/Hello.World") == 1  # deduplicated
    assert "someone/hello.world-fork" in names
    assert body["total_count"] >= len(names)


def test_search_finds_a_private_repository_only_for_who_can_see_it(alice, bob, lambda_context):
    def names(user):
        query = {"q": "octo-org/secret"}
        return [
            r["full_name"]
            for r in call(
                "ReposFunction", "repos_search.json", lambda_context, headers=user.headers, query=query
            )[1]["repositories"]
        ]

    assert names(alice)[0] == "octo-org/secret"
    assert "octo-org/secret" not in names(bob)


def test_plain_text_search_uses_github_search(alice, gh, lambda_context):
    status, body, _ = call(
        "ReposFunction", "repos_search.json", lambda_context, headers=alice.headers, query={"q": "dotfiles"}
    )
    assert status == 200
    assert [r["full_name"] for r in body["repositories"]] == ["alice/dotfiles"]
    assert body["total_count"] == 1
    assert gh.count("GET", r"^/repos/") == 0


@pytest.mark.parametrize("query", [{"q": "a" * 300}, {"q": "x", "per_page": "0"}])
def test_bad_search_queries_are_a_4xx(alice, lambda_context, query):
    status, body, _ = call(
        "ReposFunction", "repos_search.json", lambda_context, headers=alice.headers, query=query
    )
    assert status in (400, 422) and set(body) == {"detail", "code"}


def test_user_repositories_come_from_github_with_the_callers_token(alice, gh, lambda_context):
    status, body, _ = call(
        "ReposFunction", "repos_user.json", lambda_context, headers=alice.headers, query={"per_page": "50"}
    )
    assert status == 200
    assert sorted(r["full_name"] for r in body["repositories"]) == ["alice/dotfiles", "octo-org/secret"]
    assert all(isinstance(r["stargazers_count"], int) for r in body["repositories"])


def test_missing_stargazers_count_is_zero(alice, gh, lambda_context):
    gh.add_repo("octo-org/no-stars", stargazers_count=None)
    body = _track(lambda_context, alice, "octo-org/no-stars")[1]
    assert body["repository"]["stargazers_count"] == 0
    listed = call("ReposFunction", "repos_list_tracked.json", lambda_context, headers=alice.headers)[1]
    assert listed["repositories"][0]["stargazers_count"] == 0


def test_a_user_without_a_stored_github_token_must_sign_in_again(gh, make_user, lambda_context, db):
    user = make_user(id=3, login="carol", github_token=None)
    status, body, _ = _track(lambda_context, user, "octo-org/hello.world")
    assert (status, body["code"]) == (401, "github_token_invalid")
    assert _rows(db) == (0, 0)


def test_github_rate_limit_is_429_with_retry_after_and_writes_nothing(alice, gh, lambda_context, db):
    gh.fail("GET", r"^/repos/", status=403, headers={"x-ratelimit-remaining": "0"}, times=5)
    status, body, headers = _track(lambda_context, alice, "octo-org/hello.world")
    assert status == 429 and "rate limit" in body["detail"]
    assert int(headers["Retry-After"]) >= 1
    assert _rows(db) == (0, 0)


@pytest.mark.parametrize("path", ["/api/v1/users/me/repositories", "/api/v1/users/me/import"])
def test_cors_preflight_needs_no_session(engine, lambda_context, path):
    from tools.lambda_local import http_event, load_handler

    event = http_event(
        "OPTIONS",
        path,
        headers={
            "origin": "http://localhost:5173",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
        },
    )
    response = load_handler("ReposFunction")(event, lambda_context)
    assert response["statusCode"] == 204
    assert response["headers"]["Access-Control-Allow-Origin"] == "http://localhost:5173"
