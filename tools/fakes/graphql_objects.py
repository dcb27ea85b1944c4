"""The fake GitHub's data as GraphQL objects: what ``POST /graphql`` (github_graphql.py) executes over.

Objects are dicts keyed by schema field name, with ``__typename`` (graphql-core's default type resolver
reads it for unions such as ``SearchResultItem`` and interfaces such as ``Actor``); a field that takes
arguments is a callable ``(info, **arguments)``. The source is the REST-shaped ``FakeRepo.items`` that
github_activity.py seeds, so every seeding helper serves both APIs. Mapping:

* ``user`` -> ``author``: a ``Bot`` loses the ``[bot]`` suffix (REST ``dependabot[bot]`` is ``dependabot``);
  REST's ``ghost`` (a deleted account) is a null ``author``.
* ``state`` -> ``OPEN``/``CLOSED``, and ``MERGED`` for a pull request with ``pull_request.merged_at``
  (``mergedAt``, ``merged``); ``state_reason`` -> ``stateReason``; ``draft`` -> ``isDraft``.
* ``comments`` -> ``comments.totalCount`` (the lifetime count; no comment nodes), ``reactions.total_count``
  -> ``reactions.totalCount``, ``labels``, ``assignees``, ``author_association`` -> ``authorAssociation``;
  ``participants`` is the human author and the assignees.
* Timeline: ``add_item(events=[(type, moment), ...])`` when given; else synthesised, deterministically:
  the item's ``comments`` as ``ISSUE_COMMENT`` events spread evenly after ``created_at``, the last one at
  ``updated_at``; a ``MERGED_EVENT`` at ``merged_at``; a ``CLOSED_EVENT`` at ``closed_at``.
  ``timelineItems(since:, itemTypes:)``'s ``totalCount`` (and ``filteredCount``) counts the events of
  those types at or after ``since``. That is our reading of GitHub's documentation ("since: filter timeline
  items by a since timestamp"), not a recorded answer; ``reviews`` counts the ``PULL_REQUEST_REVIEW`` events.
* ``search(type: ISSUE, query:)`` reads its query with tools/fakes/issue_search.py; ``issueCount`` is the
  whole count, ``nodes``/``edges`` at most 1000 of them (GitHub's search cap), paged by ``first``/``after``
  with GitHub's cursors (base64 ``cursor:N``). A ``repo:`` that does not exist (a former name included) or
  that the token cannot see answers ``issueCount: 0`` and an ``INVALID`` error at the field's path.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLResolveInfo

from tools.fakes import github_pulls
from tools.fakes.github import FakeGitHub, FakeRepo, FakeUser
from tools.fakes.issue_search import CANNOT_SEARCH, iso, merged_at, parse_query, parse_time

SEARCH_CAP = 1000
Info = GraphQLResolveInfo[Any]
Resolver = Callable[..., Any]


class FieldError(Exception):
    """An error GitHub reports at a field (the field answers null): ``type`` as GitHub names it."""

    def __init__(self, message: str, type: str) -> None:
        super().__init__(message)
        self.type = type


@dataclass
class Context:
    """One request: who asks, and the errors found beside a value (GitHub's data-and-errors answers)."""

    fake: FakeGitHub
    user: FakeUser
    rate_limit: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error_at(self, info: Info, type: str, message: str) -> None:
        node = info.field_nodes[0]
        where = node.loc.source.get_location(node.loc.start) if node.loc else None
        error: dict[str, Any] = {"type": type, "path": info.path.as_list(), "message": message}
        if where is not None:
            error["locations"] = [{"line": where.line, "column": where.column}]
        self.errors.append(error)


def cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _offset(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(base64.b64decode(value).decode().removeprefix("cursor:"))
    except ValueError as error:
        raise FieldError(
            f"`{value}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS"
        ) from error


def connection(
    nodes: list[Any], total: int | None = None, convert: Callable[[Any], Any] | None = None, **arguments: Any
) -> dict[str, Any]:
    """A connection over ``nodes`` paged by ``first``/``after``/``last``/``before`` (cursors are 1-based
    positions, as GitHub's); ``convert`` maps only the nodes of the page."""
    after, before = _offset(arguments.get("after")), _offset(arguments.get("before"))
    start = after if after is not None else 0
    stop = before - 1 if before is not None else len(nodes)
    window = list(range(start, min(stop, len(nodes))))
    if arguments.get("first") is not None:
        window = window[: arguments["first"]]
    if arguments.get("last") is not None:
        window = window[len(window) - arguments["last"] :] if arguments["last"] else []
    page = [convert(nodes[i]) if convert else nodes[i] for i in window]
    return {
        "totalCount": len(nodes) if total is None else total,
        "nodes": page,
        "edges": [{"cursor": cursor(i + 1), "node": node} for i, node in zip(window, page, strict=True)],
        "pageInfo": {
            "startCursor": cursor(window[0] + 1) if window else None,
            "endCursor": cursor(window[-1] + 1) if window else None,
            "hasNextPage": bool(window) and window[-1] + 1 < len(nodes),
            "hasPreviousPage": bool(window) and window[0] > 0,
        },
    }


def paged(nodes: list[Any], total: int | None = None, **extra: Any) -> Resolver:
    return lambda _info, **arguments: {**connection(nodes, total, **arguments), **extra}


def actor(user: dict[str, Any] | None) -> dict[str, Any] | None:
    if user is None or user["login"] == "ghost":
        return None
    bot = user.get("type") == "Bot"
    login = user["login"].removesuffix("[bot]") if bot else user["login"]
    return {
        "__typename": "Bot" if bot else "User",
        "login": login,
        "id": user["node_id"],
        "databaseId": user["id"],
        "avatarUrl": user["avatar_url"],
        "url": f"https://github.com/apps/{login}" if bot else user["html_url"],
        "resourcePath": f"/apps/{login}" if bot else f"/{login}",
        "name": None,
    }


def viewer(user: FakeUser) -> dict[str, Any]:
    return {
        "__typename": "User",
        "login": user.login,
        "id": f"U_{user.id}",
        "databaseId": user.id,
        "name": user.name,
        "email": user.email or "",
        "avatarUrl": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
        "url": f"https://github.com/{user.login}",
        "resourcePath": f"/{user.login}",
    }


def repository(ctx: Context, repo: FakeRepo) -> dict[str, Any]:
    rest = repo.payload()
    owner = rest["owner"]
    return {
        "__typename": "Repository",
        "id": rest["node_id"],
        "databaseId": rest["id"],
        "name": rest["name"],
        "nameWithOwner": rest["full_name"],
        "isPrivate": rest["private"],
        "visibility": rest["visibility"].upper(),
        "description": rest["description"],
        "url": rest["html_url"],
        "resourcePath": f"/{rest['full_name']}",
        "homepageUrl": None,
        "stargazerCount": rest["stargazers_count"],
        "forkCount": rest["forks_count"],
        "isArchived": rest["archived"],
        "isFork": rest["fork"],
        "isTemplate": False,
        "isDisabled": False,
        "isLocked": False,
        "isMirror": False,
        "isEmpty": False,
        "createdAt": rest["created_at"],
        "updatedAt": rest["updated_at"],
        "pushedAt": rest["pushed_at"],
        "primaryLanguage": {"__typename": "Language", "id": f"L_{rest['language']}", "name": rest["language"]}
        if rest["language"]
        else None,
        "owner": {
            "__typename": owner["type"],
            "login": owner["login"],
            "id": f"O_{owner['id']}",
            "avatarUrl": owner["avatar_url"],
            "url": owner["html_url"],
            "resourcePath": f"/{owner['login']}",
        },
        "issues": _items_of(ctx, repo, pull_requests=False),
        "pullRequests": _items_of(ctx, repo, pull_requests=True),
        "issue": _item_of(ctx, repo, "Issue"),
        "pullRequest": _item_of(ctx, repo, "PullRequest"),
        "issueOrPullRequest": _item_of(ctx, repo, None),
    }


def _item_of(ctx: Context, repo: FakeRepo, typename: str | None) -> Resolver:
    """``repository.issue(number:)``, ``pullRequest(number:)``, ``issueOrPullRequest(number:)``: the item, or
    null with a ``NOT_FOUND`` error at the field, as GitHub answers a number of the wrong kind or none."""

    def resolve(_info: Info, number: int) -> Any:
        for item in repo.items:
            if item["number"] == number:
                node = issue_or_pull_request(ctx, repo, item)
                if typename is None or node["__typename"] == typename:
                    return node
        kind = typename or "Issue"
        raise FieldError(
            f"Could not resolve to {'an' if kind == 'Issue' else 'a'} {kind} with the number of {number}.",
            "NOT_FOUND",
        )

    return resolve


def _items_of(ctx: Context, repo: FakeRepo, *, pull_requests: bool) -> Resolver:
    def resolve(_info: Info, states: list[str] | None = None, **arguments: Any) -> Any:
        found = [
            item
            for item in repo.items
            if ("pull_request" in item) == pull_requests and (states is None or _state(item) in states)
        ]
        return connection(found, convert=lambda item: issue_or_pull_request(ctx, repo, item), **arguments)

    return resolve


def timeline(repo: FakeRepo, item: dict[str, Any]) -> list[tuple[str, dt.datetime]]:
    """The item's timeline events (given, or synthesised as the module docstring says), oldest first."""
    if item["number"] in repo.timelines:
        return repo.timelines[item["number"]]
    created, updated = parse_time(item["created_at"]), parse_time(item["updated_at"])
    count = item["comments"]
    events = [("ISSUE_COMMENT", created + (updated - created) * (i + 1) / count) for i in range(count)]
    if merged := merged_at(item):
        events.append(("MERGED_EVENT", parse_time(merged)))
    if item.get("closed_at"):
        events.append(("CLOSED_EVENT", parse_time(item["closed_at"])))
    return sorted(events, key=lambda event: event[1])


def _typename(item_type: str) -> str:
    return "".join(word.capitalize() for word in item_type.split("_"))


def _timeline_items(repo: FakeRepo, item: dict[str, Any]) -> Resolver:
    def resolve(
        _info: Info,
        since: str | None = None,
        itemTypes: list[str] | None = None,
        skip: int | None = None,
        **arguments: Any,
    ) -> Any:
        start = parse_time(since) if since else None
        events = [
            {"__typename": _typename(kind), "id": f"{kind}_{item['id']}_{i}", "createdAt": iso(moment)}
            for i, (kind, moment) in enumerate(timeline(repo, item))
            if (itemTypes is None or kind in itemTypes) and (start is None or moment >= start)
        ]
        page = connection(events[skip or 0 :], total=len(events), **arguments)
        return {
            **page,
            "filteredCount": len(events),
            "pageCount": len(page["nodes"]),
            "updatedAt": item["updated_at"],
        }

    return resolve


def _state(item: dict[str, Any]) -> str:
    return "MERGED" if merged_at(item) else item["state"].upper()


def issue_or_pull_request(ctx: Context, repo: FakeRepo, item: dict[str, Any]) -> dict[str, Any]:
    pull = item.get("pull_request")
    merged = merged_at(item)
    state = _state(item)
    humans = [
        a for a in [actor(item["user"]), *map(actor, item["assignees"])] if a and a["__typename"] == "User"
    ]
    node: dict[str, Any] = {
        "__typename": "PullRequest" if pull is not None else "Issue",
        "id": item["node_id"],
        "databaseId": item["id"],
        "number": item["number"],
        "title": item["title"],
        "url": item["html_url"],
        "permalink": item["html_url"],
        "resourcePath": item["html_url"].removeprefix("https://github.com"),
        "state": state,
        "closed": state != "OPEN",
        "locked": item["locked"],
        "body": item["body"] or "",
        "bodyText": item["body"] or "",
        "createdAt": item["created_at"],
        "publishedAt": item["created_at"],
        "updatedAt": item["updated_at"],
        "closedAt": item["closed_at"],
        "lastEditedAt": None,
        "authorAssociation": item["author_association"],
        "author": actor(item["user"]),
        "labels": paged([{**lab, "__typename": "Label", "id": f"LA_{lab['id']}"} for lab in item["labels"]]),
        "assignees": paged([actor(a) for a in item["assignees"]]),
        "participants": paged(list({p["login"]: p for p in humans}.values())),
        "comments": paged([_comment(c) for c in item.get("comment_nodes", [])], item["comments"]),
        "reactions": paged([], item["reactions"]["total_count"], viewerHasReacted=False),
        "timelineItems": _timeline_items(repo, item),
        "repository": lambda _info: repository(ctx, repo),
    }
    if pull is None:
        node["stateReason"] = item["state_reason"].upper() if item.get("state_reason") else None
        return node
    reviews = [kind for kind, _ in timeline(repo, item) if kind == "PULL_REQUEST_REVIEW"]
    node.update(
        mergedAt=merged,
        merged=bool(merged),
        isDraft=item.get("draft", False),
        mergedBy=None,
        totalCommentsCount=item["comments"],
        headRefOid=github_pulls.head_sha(item),
        changedFiles=len(item.get("files", [])),
        reviews=paged(
            [_review(r) for r in item.get("review_nodes", [])],
            max(len(reviews), len(item.get("review_nodes", []))),
        ),
    )
    return node


def _comment(comment: dict[str, Any]) -> dict[str, Any]:
    """A comment added by tools/fakes/github_pulls.py as an ``IssueComment`` node."""
    return {
        "__typename": "IssueComment",
        "id": f"IC_{comment['id']}",
        "databaseId": comment["id"],
        "author": actor(comment["user"]),
        "body": comment["body"],
        "bodyText": comment["body"],
        "createdAt": comment["created_at"],
        "publishedAt": comment["created_at"],
        "updatedAt": comment["created_at"],
        "authorAssociation": "CONTRIBUTOR",
    }


def _review(review: dict[str, Any]) -> dict[str, Any]:
    """A review added by tools/fakes/github_pulls.py as a ``PullRequestReview`` node."""
    return {
        "__typename": "PullRequestReview",
        "id": f"PRR_{review['id']}",
        "author": actor(review["user"]),
        "body": review["body"],
        "bodyText": review["body"],
        "state": review["state"],
        "submittedAt": review["submitted_at"],
        "createdAt": review["submitted_at"],
        "updatedAt": review["submitted_at"],
        "authorAssociation": "CONTRIBUTOR",
    }


def search(ctx: Context) -> Resolver:
    def resolve(info: Info, query: str, type: str, **arguments: Any) -> Any:
        counts = dict.fromkeys(
            ("issueCount", "codeCount", "discussionCount", "repositoryCount", "userCount", "wikiCount"), 0
        )
        empty = {**connection([]), **counts}
        if type != "ISSUE":
            return empty  # the fake only has issues and pull requests
        try:
            parsed = parse_query(query)
        except ValueError:
            ctx.error_at(info, "INVALID", f"Invalid search query: {query!r}")
            return empty
        repos = []
        for name in parsed.repos:
            repo = ctx.fake.repos.get(name.lower())  # a former name is not searchable, as on GitHub
            if repo is None or not repo.visible(ctx.user.token):
                ctx.error_at(info, "INVALID", CANNOT_SEARCH)
                return empty
            repos.append(repo)
        if not parsed.repos:
            repos = [repo for repo in ctx.fake.repos.values() if repo.visible(ctx.user.token)]
        found = parsed.select([item for repo in repos for item in repo.items])
        owner = {id(item): repo for repo in repos for item in repo.items}
        page = connection(
            found[:SEARCH_CAP],
            convert=lambda item: issue_or_pull_request(ctx, owner[id(item)], item),
            **arguments,
        )
        return {**page, **counts, "issueCount": len(found)}

    return resolve


def root(ctx: Context) -> dict[str, Any]:
    """The ``Query`` object of one request."""

    def resolve_repository(_info: Info, owner: str, name: str, followRenames: bool = True) -> Any:
        full_name = f"{owner}/{name}"
        repo = ctx.fake.resolve_repo(full_name) if followRenames else ctx.fake.repos.get(full_name.lower())
        if repo is None or not repo.visible(ctx.user.token):
            raise FieldError(f"Could not resolve to a Repository with the name '{full_name}'.", "NOT_FOUND")
        return repository(ctx, repo)

    return {
        "repository": resolve_repository,
        "search": search(ctx),
        "rateLimit": lambda _info, dryRun=False: ctx.rate_limit,
        "viewer": viewer(ctx.user),
    }
