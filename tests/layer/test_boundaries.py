"""The shared boundary helpers: text PostgreSQL can store, URLs that may leave the API, the deadline."""

from __future__ import annotations

import time

import pytest

from oss_tldr import deadline, urls
from oss_tldr.text import has_unstorable, pg_json, pg_text


def test_pg_text_drops_nul_and_replaces_lone_surrogates():
    assert pg_text("a\x00b") == "ab"
    assert pg_text("x\ud800y") == "x\ufffdy"
    assert pg_text("fine ✓ 𝄞") == "fine ✓ 𝄞"
    assert not has_unstorable(pg_text("\x00\udfff"))


def test_pg_json_cleans_keys_and_nested_values():
    cleaned = pg_json({"a\x00": ["b\x00", {"c": "\ud83d"}], "n": 3, "t": True, "z": None})
    assert cleaned == {"a": ["b", {"c": "\ufffd"}], "n": 3, "t": True, "z": None}


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/octo/hello/pull/1",
        "https://www.github.com/octo",
        "https://avatars.githubusercontent.com/u/1?v=4",
        "https://avatars3.githubusercontent.com/u/1?v=4",
    ],
)
def test_github_urls_are_served(url):
    assert urls.safe_avatar_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>",
        "http://evil.example/phish",
        "http://github.com/octo",  # not https
        "https://github.com.evil.example/x",
        "https://evil.example/?https://github.com/",
        "https://user@github.com/x",
        "https://github.com:8443/x",
        "https://github.com\\@evil.example",
        "https://evil.tld%2f.githubusercontent.com/u/1",
        "https://raw.githubusercontent.com/evil/pixel/main/p.png",
        "https://user-images.githubusercontent.com/1/x.png",
        " https://github.com/x",
        "//github.com/x",
        "",
        None,
        42,
    ],
)
def test_other_urls_are_refused(url):
    assert not urls.is_github_web_url(url)
    assert urls.safe_avatar_url(url) is None
    assert urls.safe_web_url(url, "https://github.com/octo") == "https://github.com/octo"


def test_configured_web_host_is_allowed(settings_env):
    settings_env(GITHUB_WEB_URL="http://127.0.0.1:8999")
    assert urls.is_github_web_url("http://127.0.0.1:8999/octo")
    assert not urls.is_github_web_url("http://127.0.0.1:9000/octo")


def test_urls_are_rebuilt_from_names():
    assert urls.profile_url("octo-cat") == "https://github.com/octo-cat"
    assert urls.item_url("octo/hello", 7, pull_request=True) == "https://github.com/octo/hello/pull/7"
    assert urls.item_url("octo/hello", 8, pull_request=False) == "https://github.com/octo/hello/issues/8"


def test_timeouts_come_from_the_request_deadline():
    assert deadline.timeout(10.0) == 10.0  # no request: the configured timeout
    with deadline.request_deadline(2.0):
        assert 1.5 < deadline.timeout(10.0) <= 2.0
        with deadline.request_deadline(60.0):  # nested deadlines only shorten
            assert deadline.timeout(10.0) <= 2.0
    with deadline.request_deadline(0.0), pytest.raises(deadline.DeadlineExceeded):
        deadline.timeout(10.0)
    assert deadline.remaining() is None


def test_lambda_budget_is_capped_by_api_gateway_and_the_lambda():
    assert deadline.lambda_budget(None) == deadline.API_GATEWAY_SECONDS - deadline.ANSWER_MARGIN_SECONDS
    assert deadline.lambda_budget(90_000) == deadline.API_GATEWAY_SECONDS - deadline.ANSWER_MARGIN_SECONDS
    assert deadline.lambda_budget(5_000) == 4.0
    assert deadline.lambda_budget(100) == 0.0


def test_wait_until_respects_the_deadline():
    far = time.monotonic() + 100
    assert deadline.wait_until(far) == far
    with deadline.request_deadline(1.0) as at:
        assert deadline.wait_until(far) == at


def test_a_retry_fits_only_while_the_deadline_leaves_room_for_a_call_after_its_wait():
    assert deadline.fits() and deadline.fits(3600.0)  # no request: no deadline to miss
    with deadline.request_deadline(2.0):
        assert deadline.fits() and deadline.fits(1.0)
        assert not deadline.fits(1.9)  # 0.1 s left after the wait: below MIN_CALL_SECONDS
    with deadline.request_deadline(0.1):
        assert not deadline.fits()
