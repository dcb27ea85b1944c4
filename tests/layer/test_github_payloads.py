"""The parsing boundary for GitHub answers (oss_tldr.github.payloads): shapes checked, numbers within their
columns, strings storable, URLs GitHub's (issue 7, findings 2 and 5)."""

from __future__ import annotations

import pytest

from oss_tldr.errors import UpstreamUnavailable
from oss_tldr.github import payloads
from oss_tldr.github.payloads import PG_BIGINT_MAX, PG_INTEGER_MAX


def _repo(**overrides):
    return {
        "id": 42,
        "full_name": "octo/hello",
        "name": "hello",
        "owner": {"login": "octo", "avatar_url": "https://avatars.githubusercontent.com/u/1?v=4"},
        "html_url": "https://github.com/octo/hello",
        "private": False,
        "stargazers_count": 7,
        "updated_at": "2026-11-20T10:00:00Z",
        **overrides,
    }


def test_stargazers_count_beyond_a_postgres_integer_is_clamped():
    assert payloads.repository(_repo(stargazers_count=2**40)).stargazers_count == PG_INTEGER_MAX


@pytest.mark.parametrize("stars", [None, "many", True, 1.5, -3])
def test_a_stargazers_count_that_is_not_a_count_is_zero(stars):
    assert payloads.repository(_repo(stargazers_count=stars)).stargazers_count == 0


@pytest.mark.parametrize("bad_id", [2**63, -1, "42", 4.2, True])
def test_an_id_outside_bigint_or_not_an_integer_is_refused_not_clamped(bad_id):
    with pytest.raises(UpstreamUnavailable) as info:
        payloads.repository(_repo(id=bad_id))
    assert info.value.status == 502 and info.value.code == "upstream_unavailable"


def test_the_largest_bigint_id_is_kept():
    assert payloads.repository(_repo(id=PG_BIGINT_MAX)).id == PG_BIGINT_MAX


@pytest.mark.parametrize(
    "html_url", ["http://evil.example/phish", "javascript:alert(1)", "https://github.com.evil.example/x", 7]
)
def test_a_repository_link_that_is_not_githubs_is_rebuilt_from_its_full_name(html_url):
    assert payloads.repository(_repo(html_url=html_url)).html_url == "https://github.com/octo/hello"


@pytest.mark.parametrize(
    "avatar", ["javascript:alert(1)", "data:text/html,<script>", "http://evil.example/a"]
)
def test_an_avatar_that_is_not_githubs_is_dropped(avatar):
    repo = payloads.repository(_repo(owner={"login": "octo", "avatar_url": avatar}))
    assert repo.owner is not None and repo.owner.avatar_url is None
    assert payloads.user_profile({"id": 1, "login": "octo", "avatar_url": avatar}).avatar_url is None


def test_strings_are_cleaned_for_postgres_and_bounded():
    repo = payloads.repository(_repo(description="a\x00b\ud800c" + "x" * 10_000, language="P" * 500))
    assert repo.description is not None and repo.description.startswith("ab\ufffdc")
    assert len(repo.description) == payloads.MAX_DESCRIPTION
    assert repo.language == "P" * 100


@pytest.mark.parametrize(
    "payload",
    [[1, 2], "octo/hello", None, {"full_name": 5}, {"full_name": "not a name"}, _repo(private="yes")],
    ids=["array", "string", "null", "number-name", "bad-name", "string-flag"],
)
def test_a_repository_of_the_wrong_shape_is_upstream_unavailable(payload):
    with pytest.raises(UpstreamUnavailable):
        payloads.repository(payload)


def test_a_validated_dump_validates_to_the_same_repository():
    first = payloads.repository(_repo(html_url="http://evil.example", stargazers_count=2**40))
    assert payloads.repository(first.model_dump()) == first


@pytest.mark.parametrize(
    "envelope",
    [{"items": {"a": 1}}, {"total_count": 3}, {"items": [1, 2]}, [], {"items": None}],
    ids=["items-object", "no-items", "items-not-objects", "array", "items-null"],
)
def test_a_repository_search_envelope_without_a_list_of_items_is_upstream_unavailable(envelope):
    with pytest.raises(UpstreamUnavailable):
        payloads.repository_search(envelope)


@pytest.mark.parametrize(
    "profile",
    [{"id": "1", "login": "a"}, {"id": 0, "login": "a"}, {"id": 2**63, "login": "a"}, {"id": 1}, [1]],
)
def test_a_user_profile_of_the_wrong_shape_is_upstream_unavailable(profile):
    with pytest.raises(UpstreamUnavailable):
        payloads.user_profile(profile)


@pytest.mark.parametrize(
    "answer",
    [[1, 2], "token", {"access_token": 5}, {"access_token": "gho_\x00x"}, {"access_token": "t" * 5000}],
    ids=["array", "string", "number", "nul", "too-long"],
)
def test_an_oauth_answer_of_the_wrong_shape_is_upstream_unavailable(answer):
    with pytest.raises(UpstreamUnavailable):
        payloads.oauth_token(answer)


def test_an_oauth_error_answer_has_no_token():
    answer = payloads.oauth_token({"error": "bad_verification_code", "access_token": ""})
    assert (answer.access_token, answer.error) == (None, "bad_verification_code")
