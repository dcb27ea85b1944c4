"""The report query's answer at its boundary (oss_tldr.github.activity_payloads): shapes checked, numbers
within their columns, text storable, links GitHub's, people as GraphQL names them (bots without ``[bot]``,
a deleted account a null author shown as ``ghost``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oss_tldr.github.activity_payloads import ActivityAnswer, RepositoryNode, SearchItem
from oss_tldr.limits import PG_INTEGER_MAX


def _node(**overrides):
    return {
        "__typename": "PullRequest",
        "id": "PR_kw1",
        "number": 12,
        "title": "Fix it",
        "url": "https://github.com/octo/hello/pull/12",
        "state": "MERGED",
        "body": "Body",
        "createdAt": "2026-11-19T10:00:00Z",
        "updatedAt": "2026-11-20T10:00:00Z",
        "closedAt": "2026-11-20T10:00:00Z",
        "mergedAt": "2026-11-20T10:00:00Z",
        "isDraft": False,
        "authorAssociation": "MEMBER",
        "author": {
            "__typename": "User",
            "login": "alice",
            "avatarUrl": "https://avatars.githubusercontent.com/u/2?v=4",
        },
        "labels": {"nodes": [{"name": "bug"}]},
        "assignees": {"nodes": [{"__typename": "User", "login": "bob", "avatarUrl": None}]},
        "comments": {"totalCount": 3},
        "reactions": {"totalCount": 2},
        "windowComments": {"totalCount": 2},
        "windowReviews": {"totalCount": 1},
        "windowEvents": {"totalCount": 1},
        **overrides,
    }


def _item(**overrides):
    return SearchItem.model_validate(_node(**overrides)).to_item("octo/hello")


def test_a_pull_request_node_reads_as_the_report_content_needs_it():
    item = _item()
    assert (item.kind, item.number, item.state, item.merged) == ("pr", 12, "closed", True)
    assert item.window_activity == 4 and (item.comments, item.reactions) == (3, 2)
    assert item.labels == ("bug",) and [a.login for a in item.assignees] == ["bob"]
    assert item.author.login == "alice" and not item.author.is_bot and item.association == "MEMBER"


def test_a_bot_is_a_bot_without_its_rest_suffix_and_a_ghost_is_shown_as_github_shows_it():
    assert _item(author={"__typename": "Bot", "login": "dependabot", "avatarUrl": None}).author.is_bot
    assert _item(author={"__typename": "User", "login": "renovate[bot]"}).author.is_bot
    ghost = _item(author=None).author
    assert (ghost.login, ghost.is_bot, ghost.avatar_url) == ("ghost", False, None)


def test_an_item_link_that_is_not_githubs_is_rebuilt_from_repository_and_number():
    assert _item(url="http://evil.example/phish").url == "https://github.com/octo/hello/pull/12"
    issue = _item(__typename="Issue", url="javascript:alert(1)", number=5, mergedAt=None)
    assert issue.url == "https://github.com/octo/hello/issues/5" and issue.kind == "issue"


def test_a_foreign_avatar_is_dropped():
    assert (
        _item(author={"__typename": "User", "login": "a", "avatarUrl": "javascript:x"}).author.avatar_url
        is None
    )


def test_counts_are_clamped_and_text_cleaned():
    item = _item(
        comments={"totalCount": 2**40}, reactions={"totalCount": "many"}, title="a\x00b", body="c\x00d"
    )
    assert item.comments == PG_INTEGER_MAX and item.reactions == 0
    assert (item.title, item.body) == ("ab", "cd")


def test_a_node_of_another_type_or_without_its_times_is_not_an_item():
    assert SearchItem.model_validate({"__typename": "Discussion"}).kind is None
    assert SearchItem.model_validate(_node(createdAt=None)).kind is None


@pytest.mark.parametrize(
    "overrides",
    [{"number": 2**31}, {"number": "12"}, {"updatedAt": "yesterday"}, {"author": "alice"}, {"labels": "bug"}],
)
def test_a_node_of_the_wrong_shape_is_refused(overrides):
    with pytest.raises(ValidationError):
        SearchItem.model_validate(_node(**overrides))


@pytest.mark.parametrize(
    "data",
    [
        {"prs": {"issueCount": 3, "nodes": {"a": 1}}},
        {"recentPrs": {"nodes": [1, 2]}},
        {"repository": [1]},
        {"repository": {"databaseId": "7", "name": "hello", "nameWithOwner": "octo/hello"}},
        {"rateLimit": "cheap"},
    ],
    ids=["nodes-object", "nodes-not-objects", "repository-array", "id-string", "rate-limit-string"],
)
def test_an_answer_of_the_wrong_shape_is_refused(data):
    with pytest.raises(ValidationError):
        ActivityAnswer.model_validate(data)


def test_every_part_of_the_answer_may_be_missing_a_partial_answer():
    answer = ActivityAnswer.model_validate({"repository": None, "prs": None})
    assert answer.repository is None and answer.prs is None and answer.recentPrs is None


def test_the_repository_becomes_the_payload_its_row_is_written_from():
    node = RepositoryNode.model_validate(
        {
            "databaseId": 42,
            "name": "Hello",
            "nameWithOwner": "Octo/Hello",
            "url": "http://evil.example",
            "isPrivate": True,
            "stargazerCount": 2**40,
            "owner": {"__typename": "Organization", "login": "Octo"},
            "primaryLanguage": {"name": "Python"},
        }
    )
    payload = node.to_payload()
    assert (payload.id, payload.full_name, payload.private) == (42, "Octo/Hello", True)
    assert payload.html_url == "https://github.com/Octo/Hello" and payload.stargazers_count == PG_INTEGER_MAX
    assert payload.language == "Python" and payload.owner is not None and payload.owner.type == "Organization"
