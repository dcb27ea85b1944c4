"""The shape of the deep dive's GraphQL answers (:mod:`oss_tldr.github.threads`), checked here.

The field types are :mod:`oss_tldr.github.payloads`' and the repository is the report query's
:class:`~oss_tldr.github.activity_payloads.RepositoryNode`, so these answers pass the same boundary as the
others: text cleaned and bounded, numbers within range, timestamps normalised, a malformed answer a 502.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from oss_tldr import urls
from oss_tldr.github.activity_payloads import GHOST, Actor, RepositoryNode
from oss_tldr.github.payloads import (
    MAX_TEXT,
    Count,
    Flag,
    Link,
    Timestamp,
    _identifier,
    _list,
    _optional_text,
    _text,
    _title,
)
from oss_tldr.limits import PG_INTEGER_MAX
from oss_tldr.timestamps import parse_timestamp

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class _Node(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _sha(value: Any) -> Any:
    if not isinstance(value, str) or not _SHA.fullmatch(value):
        raise ValueError("not a commit id")
    return value


def _required_time(value: Any) -> Any:
    parsed = parse_timestamp(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError("not a timestamp")
    return parsed


Number = Annotated[int, _identifier(1, PG_INTEGER_MAX)]
Body = Annotated[str | None, _optional_text(MAX_TEXT)]
RequiredTime = Annotated[dt.datetime, BeforeValidator(_required_time)]


def login_of(actor: Actor | None) -> str:
    return GHOST if actor is None else actor.login


# --------------------------------------------------------------------------------- a PR's head
class PullHeadNode(_Node):
    number: Number
    headRefOid: Annotated[str, BeforeValidator(_sha)]
    changedFiles: Count = 0


class _RepositoryWithPull(RepositoryNode):
    pullRequest: PullHeadNode | None = None


class PullHeadAnswer(_Node):
    repository: _RepositoryWithPull | None = None


# --------------------------------------------------------------------------------- a thread
class _Comment(_Node):
    author: Actor | None = None
    body: Body = None
    createdAt: Timestamp = None


class _Review(_Node):
    author: Actor | None = None
    state: Annotated[str, _text(40)] = "COMMENTED"
    body: Body = None
    submittedAt: Timestamp = None


class _Comments(_Node):
    totalCount: Count = 0
    nodes: Annotated[list[_Comment | None], BeforeValidator(_list)] = Field(default_factory=list)


class _Reviews(_Node):
    totalCount: Count = 0
    nodes: Annotated[list[_Review | None], BeforeValidator(_list)] = Field(default_factory=list)


class ThreadNode(_Node):
    typename: Annotated[str | None, _optional_text(40)] = Field(default=None, alias="__typename")
    number: Number
    title: Annotated[str, BeforeValidator(_title)] = ""
    url: Link = None
    closed: Flag = False
    body: Body = None
    createdAt: RequiredTime
    updatedAt: RequiredTime
    mergedAt: Timestamp = None
    isDraft: Flag = False
    author: Actor | None = None
    comments: Annotated[_Comments, BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=_Comments
    )
    reviews: _Reviews | None = None


class _RepositoryWithItem(RepositoryNode):
    issueOrPullRequest: ThreadNode | None = None


class ThreadAnswer(_Node):
    repository: _RepositoryWithItem | None = None


# --------------------------------------------------------------------------------- what callers read
@dataclass(frozen=True)
class Post:
    """A comment or a review: who, when, what (a review's ``state``: APPROVED, CHANGES_REQUESTED...)."""

    author: str
    body: str
    at: str
    state: str | None = None


@dataclass(frozen=True)
class Thread:
    """An issue or a pull request with the comments and reviews read (the most recent ones, bounded)."""

    kind: Literal["pr", "issue"]
    number: int
    title: str
    url: str
    state: str  # "open", "closed" or "merged"
    draft: bool
    author: str
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime
    comments: tuple[Post, ...]
    comments_total: int
    reviews: tuple[Post, ...]
    reviews_total: int


def to_thread(node: ThreadNode, full_name: str, *, max_comments: int, max_reviews: int) -> Thread:
    """The thread, with at most the ``max_comments`` and ``max_reviews`` most recent posts the query asked
    for (an answer carrying more is not read further)."""
    pull = node.typename == "PullRequest"
    state = "merged" if pull and node.mergedAt else ("closed" if node.closed else "open")
    reviews = node.reviews or _Reviews()
    return Thread(
        kind="pr" if pull else "issue",
        number=node.number,
        title=node.title,
        url=urls.safe_web_url(node.url, urls.item_url(full_name, node.number, pull_request=pull)),
        state=state,
        draft=node.isDraft,
        author=login_of(node.author),
        body=node.body or "",
        created_at=node.createdAt,
        updated_at=node.updatedAt,
        comments=tuple(
            Post(login_of(c.author), c.body or "", c.createdAt or "")
            for c in node.comments.nodes[-max_comments:]
            if c
        ),
        comments_total=max(node.comments.totalCount, len(node.comments.nodes)),
        reviews=tuple(
            Post(login_of(r.author), r.body or "", r.submittedAt or "", r.state.upper())
            for r in reviews.nodes[-max_reviews:]
            if r
        ),
        reviews_total=max(reviews.totalCount, len(reviews.nodes)) if pull else 0,
    )
