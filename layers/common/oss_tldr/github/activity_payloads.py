"""The shape of the report query's answer (:data:`oss_tldr.github.activity.ACTIVITY_QUERY`), checked here.

The field types are :mod:`oss_tldr.github.payloads`' (counts clamped, text cleaned and bounded, ids within
range, timestamps normalised, avatars only on GitHub's hosts), so the GraphQL answer passes the same
boundary as the REST ones. A part GitHub could not resolve is ``null`` (a partial answer): every top-level
field is optional here and the caller decides what a missing one means.

GraphQL's people differ from REST's: a bot is ``{"__typename": "Bot", "login": "dependabot"}`` (no
``[bot]`` suffix), and a deleted account is a ``null`` author, shown as GitHub shows it: ``ghost``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from oss_tldr import urls
from oss_tldr.github.payloads import (
    MAX_DESCRIPTION,
    MAX_TEXT,
    AvatarUrl,
    Count,
    Flag,
    GitHubId,
    Link,
    Name,
    OptionalName,
    RepositoryPayload,
    Timestamp,
    UserRef,
    _identifier,
    _list,
    _optional_text,
    _text,
    _title,
)
from oss_tldr.limits import PG_INTEGER_MAX
from oss_tldr.timestamps import parse_timestamp

GHOST = "ghost"  # how GitHub shows a deleted account


class _Node(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Total(_Node):
    totalCount: Count = 0


def _total(value: Any) -> Any:
    return {} if value is None else value


Total = Annotated[_Total, BeforeValidator(_total)]


class Actor(_Node):
    typename: OptionalName = Field(default=None, alias="__typename")
    login: Name
    avatarUrl: AvatarUrl = None

    @property
    def is_bot(self) -> bool:
        return self.typename == "Bot" or self.login.lower().endswith("[bot]")


class _Label(_Node):
    name: Name


class _Labels(_Node):
    nodes: Annotated[list[_Label | None], BeforeValidator(_list)] = Field(default_factory=list)


class _Actors(_Node):
    nodes: Annotated[list[Actor | None], BeforeValidator(_list)] = Field(default_factory=list)


class _Language(_Node):
    name: Name


class _Owner(_Node):
    typename: OptionalName = Field(default=None, alias="__typename")
    login: Name


@dataclass(frozen=True)
class Author:
    login: str
    avatar_url: str | None
    is_bot: bool


@dataclass(frozen=True)
class ActivityItem:
    """A pull request or an issue updated in the window, with its activity inside the window."""

    node_id: str
    number: int
    kind: Literal["pr", "issue"]
    title: str
    url: str
    state: str  # "open" or "closed", as the REST API and the SPA say it (a merged PR is closed + merged)
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    merged_at: dt.datetime | None
    is_draft: bool
    author: Author
    association: str
    labels: tuple[str, ...]
    assignees: tuple[Author, ...]
    comments: int  # lifetime totals: tie-breakers only
    reactions: int
    window_comments: int  # timelineItems(since: window start)
    window_reviews: int
    window_events: int

    @property
    def window_activity(self) -> int:
        return self.window_comments + self.window_reviews + self.window_events

    @property
    def merged(self) -> bool:
        return self.merged_at is not None

    def stamp(self, moment: dt.datetime | None) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _author(actor: Actor | None) -> Author:
    if actor is None:
        return Author(login=GHOST, avatar_url=None, is_bot=False)
    return Author(login=actor.login, avatar_url=actor.avatarUrl, is_bot=actor.is_bot)


class SearchItem(_Node):
    """A node of the report query's searches: a ``PullRequest`` or an ``Issue`` (fragments ``pullRequest``,
    ``issue``); a node of another type carries nothing we select and is skipped."""

    typename: OptionalName = Field(default=None, alias="__typename")
    id: OptionalName = None
    number: Annotated[int, _identifier(1, PG_INTEGER_MAX)] | None = None
    title: Annotated[str, BeforeValidator(_title)] = ""
    url: Link = None
    state: Annotated[str, _text(20)] = "OPEN"
    body: Annotated[str | None, _optional_text(MAX_TEXT)] = None
    createdAt: Timestamp = None
    updatedAt: Timestamp = None
    closedAt: Timestamp = None
    mergedAt: Timestamp = None
    isDraft: Flag = False
    authorAssociation: Annotated[str | None, _optional_text(32)] = None
    author: Actor | None = None
    labels: Annotated[_Labels, BeforeValidator(_total)] = Field(default_factory=_Labels)
    assignees: Annotated[_Actors, BeforeValidator(_total)] = Field(default_factory=_Actors)
    comments: Total = Field(default_factory=_Total)
    reactions: Total = Field(default_factory=_Total)
    windowComments: Total = Field(default_factory=_Total)
    windowReviews: Total = Field(default_factory=_Total)
    windowEvents: Total = Field(default_factory=_Total)

    @property
    def kind(self) -> str | None:
        if self.number is None or self.createdAt is None or self.updatedAt is None:
            return None  # not one of ours (another node type), or unusable
        return {"PullRequest": "pr", "Issue": "issue"}.get(self.typename or "")

    def to_item(self, full_name: str) -> ActivityItem:
        assert self.number is not None and self.kind is not None
        created, updated = parse_timestamp(self.createdAt), parse_timestamp(self.updatedAt)
        assert created is not None and updated is not None
        pull_request = self.kind == "pr"
        url = self.url if urls.is_github_web_url(self.url) else None
        return ActivityItem(
            node_id=self.id or f"{full_name}#{self.number}",
            number=self.number,
            kind="pr" if pull_request else "issue",
            title=self.title,
            url=url or urls.item_url(full_name, self.number, pull_request=pull_request),
            state="open" if self.state.upper() == "OPEN" else "closed",
            body=self.body or "",
            created_at=created,
            updated_at=updated,
            closed_at=parse_timestamp(self.closedAt),
            merged_at=parse_timestamp(self.mergedAt) if pull_request else None,
            is_draft=self.isDraft,
            author=_author(self.author),
            association=(self.authorAssociation or "NONE").upper(),
            labels=tuple(label.name for label in self.labels.nodes if label is not None),
            assignees=tuple(_author(a) for a in self.assignees.nodes if a is not None),
            comments=self.comments.totalCount,
            reactions=self.reactions.totalCount,
            window_comments=self.windowComments.totalCount,
            window_reviews=self.windowReviews.totalCount,
            window_events=self.windowEvents.totalCount,
        )


def _exact_count(value: Any) -> Any:
    """A window count of the report's ``stats`` (``issueCount``, ``Int!`` in GitHub's schema): an integer
    (clamped like every count) or the answer is malformed (a 502), never a silent 0 served as exact."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("issueCount is not an integer")
    return max(0, min(PG_INTEGER_MAX, value))


class SearchNode(_Node):
    issueCount: Annotated[int, BeforeValidator(_exact_count)] = 0  # absent in the candidate searches
    nodes: Annotated[list[SearchItem | None], BeforeValidator(_list)] = Field(default_factory=list)


# What a query selects of a ``repository`` for :class:`RepositoryNode` (the report's and the deep dive's).
REPOSITORY_FIELDS = """
    databaseId id name nameWithOwner url description isPrivate isFork isArchived
    stargazerCount pushedAt owner { __typename login } primaryLanguage { name }"""


class RepositoryNode(_Node):
    databaseId: Annotated[int, _identifier(1, 2**63 - 1)]
    id: OptionalName = None
    name: Name
    nameWithOwner: Name
    url: Link = None
    description: Annotated[str | None, _optional_text(MAX_DESCRIPTION)] = None
    # Boolean! at GitHub, and what keeps a private repository's reports private: no default, no null as
    # False (a malformed answer is a 502, never a private repository stored as public).
    isPrivate: StrictBool
    isFork: Flag = False
    isArchived: Flag = False
    stargazerCount: Count = 0
    pushedAt: Timestamp = None
    owner: _Owner | None = None
    primaryLanguage: _Language | None = None

    def to_payload(self) -> RepositoryPayload:
        """The REST-shaped payload the repositories table is written from (one mapping: repos.schemas)."""
        owner_login = self.owner.login if self.owner else self.nameWithOwner.partition("/")[0]
        return RepositoryPayload.model_validate(
            {
                "full_name": self.nameWithOwner,
                "id": self.databaseId,
                "name": self.name,
                "owner": UserRef(login=owner_login, type=self.owner.typename if self.owner else None),
                "description": self.description,
                "html_url": self.url,
                "private": self.isPrivate,
                "fork": self.isFork,
                "archived": self.isArchived,
                "language": self.primaryLanguage.name if self.primaryLanguage else None,
                "stargazers_count": self.stargazerCount,
                "updated_at": self.pushedAt,
            }
        )


class RateLimitNode(_Node):
    cost: Count = 0
    remaining: Count = 0
    resetAt: Timestamp = None


class ActivityAnswer(_Node):
    """The ``data`` of the report query. Every part may be null (GitHub's partial answers)."""

    rateLimit: RateLimitNode | None = None
    repository: RepositoryNode | None = None
    prs: SearchNode | None = None
    prsOpened: SearchNode | None = None
    prsMerged: SearchNode | None = None
    issues: SearchNode | None = None
    issuesOpened: SearchNode | None = None
    issuesClosed: SearchNode | None = None
    recentPrs: SearchNode | None = None
    engagedPrs: SearchNode | None = None
    recentIssues: SearchNode | None = None
    engagedIssues: SearchNode | None = None


__all__ = [
    "GHOST",
    "REPOSITORY_FIELDS",
    "ActivityAnswer",
    "ActivityItem",
    "Author",
    "GitHubId",
    "RepositoryNode",
    "SearchNode",
]
