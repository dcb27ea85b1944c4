"""The GitHub transport against the fake GitHub: retries, rate limits, no retry where it cannot help."""

from __future__ import annotations

import email.utils
import gzip
import json
import time

import pytest

from oss_tldr import deadline
from oss_tldr.deadline import DeadlineExceeded
from oss_tldr.errors import ConfigurationError, NotFound, RateLimited, UpstreamUnavailable
from oss_tldr.github import client as client_module
from oss_tldr.github.client import GitHubClient, github_client
from oss_tldr.github.errors import GitHubForbidden, GitHubUnauthorized
from oss_tldr.settings import Settings
from tools.fakes.trickle import trickling_server

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


# --- malformed answers: always a DomainError, never another exception (issue 7, finding 5) -------------


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Service temporarily unavailable</html>",
        b"\xff\xfe not utf-8",
        b"[" * 100_000 + b"]" * 100_000,  # nested deeper than the parser goes
        b'{"id": ' + b"9" * 5000 + b"}",  # an integer longer than Python converts
    ],
    ids=["html", "not-utf8", "too-deep", "huge-integer"],
)
def test_a_2xx_whose_body_is_not_json_is_upstream_unavailable(fake_github, body):
    fake_github.fail("GET", r"^/repos/", status=200, body=body)
    with pytest.raises(UpstreamUnavailable) as info:
        _client(fake_github).get("/repos/octo/hello")
    assert info.value.status == 502 and info.value.code == "upstream_unavailable"


@pytest.mark.parametrize("body", [[1, 2], b"not json", "a string"], ids=["array", "not-json", "string"])
def test_a_403_whose_body_is_not_a_json_object_is_upstream_unavailable(fake_github, body):
    fake_github.fail("GET", r"^/repos/", status=403, body=body)
    with pytest.raises(UpstreamUnavailable):
        _client(fake_github).get("/repos/octo/hello")
    assert fake_github.count("GET", r"^/repos/") == 1


def test_a_403_with_an_empty_body_is_forbidden(fake_github):
    fake_github.fail("GET", r"^/repos/", status=403, body=b"")
    with pytest.raises(GitHubForbidden):
        _client(fake_github).get("/repos/octo/hello")


@pytest.mark.parametrize("status", [404, 500])
def test_an_error_body_that_is_an_array_keeps_the_status_meaning(fake_github, status):
    fake_github.fail("GET", r"^/repos/", status=status, body=[1, 2], times=5)
    with pytest.raises(NotFound if status == 404 else UpstreamUnavailable):
        _client(fake_github, max_retries=0).get("/repos/octo/hello")


@pytest.mark.parametrize("status", [429, 403])
@pytest.mark.parametrize("retry_after", ["1e400", "inf", "99999999999"])
def test_a_huge_retry_after_is_clamped_to_an_hour(fake_github, status, retry_after):
    fake_github.fail("GET", r"^/repos/", status=status, headers={"retry-after": retry_after}, times=5)
    with pytest.raises(RateLimited) as info:
        _client(fake_github).get("/repos/octo/hello")
    assert 1 <= info.value.retry_after <= 3600
    assert info.value.headers()["Retry-After"] == str(info.value.retry_after)
    assert fake_github.count("GET", r"^/repos/") == 1  # an hour is never slept through


@pytest.mark.parametrize("retry_after", ["nan", "-inf", "soon", ""])
def test_a_retry_after_that_is_not_a_number_of_seconds_gives_the_default_wait(fake_github, retry_after):
    fake_github.fail("GET", r"^/repos/", status=429, headers={"retry-after": retry_after}, times=5)
    with pytest.raises(RateLimited) as info:
        _client(fake_github).get("/repos/octo/hello")
    assert info.value.retry_after == 60


def test_a_negative_retry_after_is_waited_as_zero(fake_github):
    fake_github.add_repo("octo/hello")
    slept: list[float] = []
    fake_github.fail("GET", r"^/repos/", status=429, headers={"retry-after": "-30"})
    client = GitHubClient(fake_github.url, "t", sleep=slept.append, backoff_base=0)
    assert client.get("/repos/octo/hello").status == 200
    assert slept == [0.0]


def test_an_http_date_retry_after_is_understood(fake_github):
    moment = email.utils.formatdate(time.time() + 120, usegmt=True)
    fake_github.fail("GET", r"^/repos/", status=429, headers={"retry-after": moment}, times=5)
    with pytest.raises(RateLimited) as info:
        _client(fake_github).get("/repos/octo/hello")
    assert 100 <= info.value.retry_after <= 125


@pytest.mark.parametrize("reset", ["garbage", "1e400", "nan", "-5"])
def test_rate_limit_reset_garbage_is_still_a_429(fake_github, reset):
    fake_github.fail(
        "GET",
        r"^/repos/",
        status=403,
        body={"message": "API rate limit exceeded"},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
        times=5,
    )
    with pytest.raises(RateLimited) as info:
        _client(fake_github).get("/repos/octo/hello")
    assert 1 <= info.value.retry_after <= 3600


# --- deadlines (issue 7, finding 9) ---------------------------------------------------------------------


def test_an_attempt_times_out_at_the_request_deadline_and_is_not_retried_past_it(fake_github):
    fake_github.add_repo("octo/hello")
    fake_github.delay("GET", r"^/repos/", seconds=4, times=5)
    client = GitHubClient(fake_github.url, "t", timeout=30, max_retries=3)
    started = time.monotonic()
    with deadline.request_deadline(1.0), pytest.raises(UpstreamUnavailable):
        client.get("/repos/octo/hello")
    assert fake_github.count("GET", r"^/repos/") == 1  # the retry could not fit
    assert time.monotonic() - started < 3.5  # sanity: it did not wait for the slow answer


def test_no_request_is_started_when_the_deadline_has_passed(fake_github):
    fake_github.add_repo("octo/hello")
    with deadline.request_deadline(0.1), pytest.raises(DeadlineExceeded) as info:
        _client(fake_github).get("/repos/octo/hello")
    assert info.value.status == 503 and info.value.code == "deadline_exceeded"
    assert fake_github.count() == 0


def test_a_secondary_rate_limit_wait_that_cannot_fit_the_deadline_is_a_429_at_once(fake_github):
    fake_github.add_repo("octo/hello")
    slept: list[float] = []
    fake_github.fail("GET", r"^/repos/", status=429, headers={"retry-after": "4"}, times=5)
    client = GitHubClient(fake_github.url, "t", sleep=slept.append)
    with deadline.request_deadline(2.0), pytest.raises(RateLimited):
        client.get("/repos/octo/hello")
    assert slept == [] and fake_github.count("GET", r"^/repos/") == 1


def test_server_errors_are_retried_only_while_the_deadline_fits_another_attempt(fake_github):
    fake_github.fail("GET", r"^/repos/", status=500, times=10)
    slept: list[float] = []
    client = GitHubClient(fake_github.url, "t", sleep=slept.append, backoff_base=100, max_retries=3)
    with deadline.request_deadline(2.0), pytest.raises(UpstreamUnavailable):
        client.get("/repos/octo/hello")
    # Each backoff is uniform in [0, 100 * 2^n]: whatever it drew, it was slept only if it fitted.
    assert all(wait <= 2.0 for wait in slept)
    assert fake_github.count("GET", r"^/repos/") == len(slept) + 1


def test_the_factory_takes_its_timeout_and_retries_from_the_settings(fake_github, settings_env):
    settings_env(GITHUB_TIMEOUT_SECONDS="0.5", GITHUB_MAX_RETRIES="0")
    fake_github.add_repo("octo/hello")
    fake_github.delay("GET", r"^/repos/", seconds=3)
    with pytest.raises(UpstreamUnavailable):
        github_client("t").get("/repos/octo/hello")
    assert fake_github.count("GET", r"^/repos/") == 1


@pytest.mark.parametrize("value", ["soon", "inf", "nan", "0.1"])
def test_a_github_timeout_that_is_not_a_usable_number_stops_the_cold_start(value):
    with pytest.raises(ConfigurationError):
        Settings.from_env({"GITHUB_TIMEOUT_SECONDS": value})


def test_the_openai_timeout_is_read_from_the_environment():
    assert Settings.from_env({"OPENAI_TIMEOUT_SECONDS": "12.5"}).openai_timeout_seconds == 12.5
    assert Settings.from_env({}).openai_timeout_seconds == 30.0
    with pytest.raises(ConfigurationError):
        Settings.from_env({"OPENAI_TIMEOUT_SECONDS": "inf"})


# --- every httpx failure is a domain error (issue 7, finding 5) -----------------------------------------


def _redirect_loop(fake) -> None:
    @fake.route("GET", r"^/loop$")
    def _loop(fake, req):
        return 302, b"", {"location": "/loop"}


def test_a_redirect_loop_is_upstream_unavailable_and_not_retried(fake_github):
    _redirect_loop(fake_github)
    fake_github.fail("GET", r"^/repos/", status=302, body=b"", headers={"location": "/loop"}, times=5)
    with pytest.raises(UpstreamUnavailable) as info:
        _client(fake_github, max_retries=3).get("/repos/octo/hello")
    assert info.value.status == 502 and info.value.code == "upstream_unavailable"
    assert fake_github.count("GET", r"^/repos/") == 1


@pytest.mark.parametrize("status", [200, 403, 500])
def test_a_body_that_is_not_in_its_content_encoding_is_upstream_unavailable_and_not_retried(
    fake_github, status
):
    fake_github.fail(
        "GET",
        r"^/repos/",
        status=status,
        body=b"this is not gzip",
        headers={"content-encoding": "gzip"},
        times=5,
    )
    with pytest.raises(UpstreamUnavailable) as info:
        _client(fake_github, max_retries=3).get("/repos/octo/hello")
    assert info.value.status == 502 and info.value.code == "upstream_unavailable"
    assert fake_github.count("GET", r"^/repos/") == 1


def test_a_gzip_answer_is_decoded(fake_github):
    repo = fake_github.add_repo("octo/hello")
    body = gzip.compress(json.dumps(repo.payload()).encode())
    fake_github.fail("GET", r"^/repos/", status=200, body=body, headers={"content-encoding": "gzip"})
    assert _client(fake_github).get("/repos/octo/hello").data["full_name"] == "octo/hello"


# --- an attempt is bounded by wall-clock time and its body by size (issue 7, finding 9) -----------------


def test_a_trickled_answer_ends_at_the_request_deadline_as_deadline_exceeded():
    with trickling_server(b'{"full_name": "octo/hello"}') as (url, connections):
        client = GitHubClient(url, "t", timeout=30, max_retries=3, **NO_SLEEP)
        started = time.monotonic()
        with deadline.request_deadline(1.0), pytest.raises(DeadlineExceeded) as info:
            client.get("/repos/octo/hello")
        took = time.monotonic() - started
    assert info.value.status == 503 and info.value.code == "deadline_exceeded"
    assert len(connections) == 1  # no retry: the request has no time left
    assert took < 2.0, took  # sanity only: the 8 s answer was not waited for


def test_a_trickled_answer_outlasting_the_configured_timeout_is_a_timeout_and_retried():
    with trickling_server(b'{"full_name": "octo/hello"}') as (url, connections):
        client = GitHubClient(url, "t", timeout=1.0, max_retries=1, **NO_SLEEP)
        with pytest.raises(UpstreamUnavailable) as info:
            client.get("/repos/octo/hello")
    assert info.value.status == 502 and info.value.code == "upstream_unavailable"
    assert len(connections) == 2  # retried like any other timeout, then given up


def test_a_briefly_trickled_answer_within_the_timeout_is_read(fake_github):
    with trickling_server(b'{"full_name": "octo/hello"}', drip=3, interval=0.05) as (url, connections):
        response = GitHubClient(url, "t", timeout=5, **NO_SLEEP).get("/repos/octo/hello")
    assert response.data == {"full_name": "octo/hello"} and len(connections) == 1


@pytest.mark.parametrize("encoding", ["identity", "gzip"], ids=["declared-length", "decoded-length"])
def test_an_answer_longer_than_the_body_limit_is_upstream_unavailable(fake_github, monkeypatch, encoding):
    monkeypatch.setattr(client_module, "MAX_BODY_BYTES", 10_000)
    body = json.dumps({"full_name": "octo/hello", "padding": " " * 20_000}).encode()
    headers = {}
    if encoding == "gzip":
        body, headers = gzip.compress(body), {"content-encoding": "gzip"}
        assert len(body) < 10_000  # only its decoded length is over the limit
    fake_github.fail("GET", r"^/repos/", status=200, body=body, headers=headers, times=5)
    with pytest.raises(UpstreamUnavailable) as info:
        _client(fake_github, max_retries=3).get("/repos/octo/hello")
    assert info.value.status == 502 and info.value.code == "upstream_unavailable"
    assert fake_github.count("GET", r"^/repos/") == 1
