"""Repository references: every accepted form, and the malformed ones refused."""

from __future__ import annotations

import pytest

from oss_tldr.errors import BadRequest
from oss_tldr.repo_refs import full_name_key, parse_repo_ref, validate_owner_repo


@pytest.mark.parametrize(
    "value",
    [
        "octo-org/hello.world",
        "octo-org/hello.world/",
        "octo-org/hello.world.git",
        "https://github.com/octo-org/hello.world",
        "https://github.com/octo-org/hello.world/",
        "https://github.com/octo-org/hello.world.git",
        "https://github.com/octo-org/hello.world.git/",
        "https://www.github.com/octo-org/hello.world",
        "https://github.com/octo-org/hello.world/tree/main/src/app.py",
        "https://github.com/octo-org/hello.world/issues/12",
        "https://github.com/octo-org/hello.world/pull/3/files",
        "https://github.com/octo-org/hello.world?tab=readme-ov-file#install",
        "http://github.com/octo-org/hello.world",
        "HTTPS://GitHub.com/octo-org/hello.world",
        "github.com/octo-org/hello.world",
        "www.github.com/octo-org/hello.world",
        "  https://github.com/octo-org/hello.world  ",
    ],
)
def test_every_accepted_form_gives_owner_and_repo(value):
    assert parse_repo_ref(value) == ("octo-org", "hello.world")


def test_display_casing_is_kept_and_the_key_is_lower_case():
    assert parse_repo_ref("https://github.com/OctoCat/Hello-World") == ("OctoCat", "Hello-World")
    assert full_name_key("OctoCat", "Hello-World") == "octocat/hello-world"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "owner",
        "owner/",
        "/repo",
        "owner//repo",
        "owner/repo/extra",
        "javascript:alert(1)",
        "javascript://github.com/a/b",
        "https://evil.com/a/b",
        "https://github.com.evil.com/a/b",
        "https://evil.com/github.com/a/b",
        "https://user:pass@github.com/a/b",
        "https://github.com@evil.com/a/b",
        "https://github.com:8443/a/b",
        "ftp://github.com/a/b",
        "file:///etc/passwd",
        "https://github.com/",
        "https://github.com/owner",
        "https://github.com/owner/",
        "https://gist.github.com/a/b",
        "../../etc/passwd",
        "owner/..",
        "../repo",
        "https://github.com/../a",
        "https://github.com/a/../b",
        "owner/.",
        "owner/repo'; DROP TABLE users; --",
        "o'wner/repo",
        'owner/re"po',
        "-owner/repo",
        "owner/re po",
        "owner/re\npo",
        "owner/repo\x00",
        "ow ner/repo",
        "a" * 40 + "/repo",
        "owner/" + "r" * 101,
        "x" * 10_240,
        "https://github.com/" + "a/" * 5000,
        "owner/répo",
        "<script>/repo",
    ],
)
def test_malformed_references_are_400_invalid_repo(value):
    with pytest.raises(BadRequest) as err:
        parse_repo_ref(value)
    assert err.value.status == 400
    assert err.value.code == "invalid_repo"


@pytest.mark.parametrize("owner,repo", [("a", "b"), ("a-b", "c_d.e"), ("A" * 39, "r" * 100)])
def test_valid_path_parameters_pass(owner, repo):
    assert validate_owner_repo(owner, repo) == (owner, repo)


@pytest.mark.parametrize(
    "owner,repo",
    [("", "b"), ("a", ""), ("a", ".."), ("..", "b"), ("a/b", "c"), ("a", "b;c"), ("a" * 40, "b")],
)
def test_invalid_path_parameters_are_400(owner, repo):
    with pytest.raises(BadRequest):
        validate_owner_repo(owner, repo)
