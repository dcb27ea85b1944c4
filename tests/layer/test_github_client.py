"""The GitHub transport against the fake GitHub: retries, rate limits, no retry where it cannot help."""

from __future__ import annotations

import pytest

from oss_tldr.errors import NotFound, RateLimited, UpstreamUnavailable
from oss_tldr.github.client import GitHubClient, GitHubUnauthorized

NO_SLEEP = {"sleep": lambda s: None}


def _client(fake, token="gho_fake_token", **kw):
    return GitHubClient(fake.url, token, **NO_SLEEP, **kw)


def test_server_error_then_success_is_retried(fake_github):
    fake_github.add_repo("octo/hello")
    fake_github.fail("GET", r"^/repos/octo/hello$", status=502, times=2)
    response = _client(fake_github).get("/repos/octo/hello")
    assert response.data["full_name"] == "octo/hello"
    assert fake_github.count("GET", r"^/repos/octo/hello$") == 3


def test_persistent_server_error_gives_up_after_bounded_retries(fake_github):
    fake_github.fail("GET", r"^/repos/", status=500, times=10)
    with pytest.raises(UpstreamUnavailable):
        _client(fake_github, max_retries=2).get("/repos/octo/hello")
    assert fake_github.count("GET", r"^/repos/") == 3


@pytest.mark.parametrize("status,exc", [(404, NotFound), (401, GitHubUnauthorized)])
def test_client_errors_are_not_retried(fake_github, status, exc):
    fake_github.fail("GET", r"^/repos/", status=status, times=5)
    with pytest.raises(exc):
        _client(fake_github).get("/repos/octo/hello")
    assert fake_github.count("GET", r"^/repos/") == 1


def test_primary_rate_limit_is_429_with_retry_after(fake_github):
    fake_github.fail(
        "GET",
        r"^/repos/",
        status=403,
        times=5,
        body={"message": "API rate limit exceeded for user ID 1."},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9999999999"},
    )
    with pytest.raises(RateLimited) as info:
        _client(fake_github).get("/repos/octo/hello")
    assert "rate limit" in info.value.detail
    assert int(info.value.headers()["Retry-After"]) > 0
    assert fake_github.count("GET", r"^/repos/") == 1


def test_short_secondary_rate_limit_is_waited_out(fake_github):
    fake_github.add_repo("octo/hello")
    slept: list[float] = []
    fake_github.fail(
        "GET",
        r"^/repos/",
        status=403,
        headers={"retry-after": "1"},
        body={"message": "You have exceeded a secondary rate limit."},
    )
    client = GitHubClient(fake_github.url, "t", sleep=slept.append)
    assert client.get("/repos/octo/hello").status == 200
    assert slept and slept[0] >= 1


def test_long_secondary_rate_limit_is_returned_as_429(fake_github):
    fake_github.fail("GET", r"^/repos/", status=429, headers={"retry-after": "120"}, times=5)
    with pytest.raises(RateLimited) as info:
        _client(fake_github).get("/repos/octo/hello")
    assert info.value.retry_after >= 120


def test_token_is_sent_and_never_shown(fake_github):
    fake_github.add_repo("octo/hello")
    client = _client(fake_github, token="gho_fake_secret_value")
    client.get("/repos/octo/hello")
    assert fake_github.requests[-1][3]["authorization"] == "Bearer gho_fake_secret_value"
    assert "gho_fake_secret_value" not in repr(client)


def test_renamed_repository_redirect_is_followed(fake_github):
    repo = fake_github.add_repo("octo/new-name")

    @fake_github.route("GET", r"^/repos/octo/old-name$")
    def _moved(fake, req):
        return 301, {"message": "Moved Permanently"}, {"location": f"{fake.url}/repositories/{repo.id}"}

    @fake_github.route("GET", r"^/repositories/(?P<id>\d+)$")
    def _by_id(fake, req):
        return 200, repo.payload()

    response = _client(fake_github).get("/repos/octo/old-name")
    assert response.data["full_name"] == "octo/new-name"
    assert fake_github.requests[-1][3]["authorization"] == "Bearer gho_fake_token"
