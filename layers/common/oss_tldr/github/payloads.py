"""The one parsing boundary for GitHub answers: models of exactly the fields we read.

Every GitHub REST payload a caller uses — a repository, the signed-in user's profile, the repository
search, the OAuth token answer — is validated here before anything reads it (and the report query's
GraphQL answer with these field types, :mod:`oss_tldr.github.activity_payloads`), so a malformed answer
(an array where an object belongs, ``"items": {"a": 1}``, a string where a number belongs) is a 502
``upstream_unavailable`` at the boundary instead of a ``TypeError`` (a 500) somewhere later, and never an
empty report that gets cached. What passes is safe to store and serve:

* counts are clamped to what their columns hold (``stargazers_count`` of 2^40 is stored as the Postgres
  ``integer`` maximum; comments, reactions and totals the same; a count that is not a number is 0, the
  SPA needs one); ids must lie within ``bigint`` and item numbers within ``integer`` (refused otherwise:
  clamping an id would take two things for one);
* strings are cleaned of what Postgres cannot store (:func:`oss_tldr.text.pg_text`) and bounded;
* URLs go through :mod:`oss_tldr.urls`: a repository's or an item's ``html_url`` is kept only when it is
  GitHub's, else rebuilt from the full name (and number); an ``avatar_url`` that is not GitHub's is dropped.

Fields we do not read are ignored (``extra="ignore"``). Parsing a dump of a model again gives the same
model, so code that passes payloads on as dicts (report generation) can validate again at no risk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from oss_tldr import urls
from oss_tldr.errors import UpstreamUnavailable
from oss_tldr.limits import PG_BIGINT_MAX, PG_INTEGER_MAX
from oss_tldr.observability import logger
from oss_tldr.text import pg_text
from oss_tldr.timestamps import github_stamp, parse_timestamp

MAX_TEXT = 65_536  # GitHub's own limit on an issue or pull request body
MAX_DESCRIPTION = 4_096
MAX_NAME = 255
MAX_TITLE = 1_024
MAX_TOKEN_CHARS = 4_096
# GitHub's names (owner: letters, digits, '-', and '_' for managed accounts; repository: also '.').
_FULL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,99}/[A-Za-z0-9._-]{1,100}")

M = TypeVar("M", bound=BaseModel)


# --------------------------------------------------------------------------------- field types
def _identifier(low: int, high: int, *, default: int | None = None) -> Any:
    """An id or a number: an integer (never a bool, a float or a string) within ``[low, high]``; one
    outside is refused, not clamped (two ids clamped to one would be two things taken for one)."""

    def check(value: Any) -> Any:
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"not an integer in [{low}, {high}]")
        return value

    return BeforeValidator(check)


def _text(limit: int) -> Any:
    """A string, cleaned for Postgres and cut to ``limit`` characters (numbers are not strings)."""

    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("not a string")
        return pg_text(value)[:limit]

    return BeforeValidator(check)


def _optional_text(limit: int) -> Any:
    """:func:`_text`, or null."""

    def check(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("not a string")
        return pg_text(value)[:limit]

    return BeforeValidator(check)


def _title(value: Any) -> Any:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("not a string")
    return pg_text(value)[:MAX_TITLE]


def _flag(value: Any) -> Any:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError("not a boolean")
    return value


def _timestamp(value: Any) -> Any:
    """A GitHub timestamp, normalised to ``2026-11-20T10:00:00Z``; null stays null, garbage is refused."""
    if value is None:
        return None
    parsed = parse_timestamp(value)
    if parsed is None:
        raise ValueError("not a timestamp")
    try:
        return github_stamp(parsed)
    except ValueError as exc:  # a year strftime cannot write
        raise ValueError("not a timestamp") from exc


def _list(value: Any) -> Any:
    """A JSON array; null is an empty one (GitHub sends ``"assignees": null`` at times)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("not a list")
    return value


def _count(value: Any) -> Any:
    """A count (stars, comments, reactions, a total): anything but an integer is 0, the SPA needs a
    number; an integer is clamped to what a Postgres ``integer`` (and every JSON client) holds."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(0, min(PG_INTEGER_MAX, value))


GitHubId = Annotated[int, _identifier(0, PG_BIGINT_MAX, default=0)]
Count = Annotated[int, BeforeValidator(_count)]
Name = Annotated[str, _text(MAX_NAME)]
OptionalName = Annotated[str | None, _optional_text(MAX_NAME)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Timestamp = Annotated[str | None, BeforeValidator(_timestamp)]
AvatarUrl = Annotated[str | None, BeforeValidator(urls.safe_avatar_url)]
# A web link, checked (and rebuilt) by the model that knows what it links to; not a string is no link.
Link = Annotated[str | None, BeforeValidator(lambda value: value if isinstance(value, str) else None)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --------------------------------------------------------------------------------- users
class UserRef(_Payload):
    """A user as an item, an assignee or a repository owner carries it."""

    login: Name
    id: GitHubId = 0
    type: OptionalName = None
    avatar_url: AvatarUrl = None


class UserProfile(_Payload):
    """``GET /user``: the signed-in user (``users`` row: id bigint, the strings varchar(255))."""

    id: Annotated[int, _identifier(1, PG_BIGINT_MAX)]
    login: Name
    name: OptionalName = None
    email: OptionalName = None
    avatar_url: AvatarUrl = None

    @field_validator("login")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty login")
        return value


# --------------------------------------------------------------------------------- repositories
class RepositoryPayload(_Payload):
    """``GET /repos/{owner}/{repo}``, an item of ``/user/repos`` or of ``/search/repositories``."""

    full_name: str
    id: GitHubId = 0
    name: OptionalName = None
    owner: UserRef | None = None
    description: Annotated[str | None, _optional_text(MAX_DESCRIPTION)] = None
    html_url: Link = None
    # What keeps a private repository's reports private: GitHub always sends it; missing or null is a
    # malformed answer (a 502), never a private repository stored as public.
    private: StrictBool
    fork: Flag = False
    archived: Flag = False
    language: Annotated[str | None, _optional_text(100)] = None
    stargazers_count: Count = 0
    updated_at: Timestamp = None

    @field_validator("full_name", mode="before")
    @classmethod
    def _full_name(cls, value: Any) -> str:
        if not isinstance(value, str) or not _FULL_NAME.fullmatch(value):
            raise ValueError("not an owner/repo name")
        return value

    @model_validator(mode="after")
    def _urls(self) -> RepositoryPayload:
        # GitHub's own link, or the one its full name gives; never a link somewhere else.
        self.html_url = urls.safe_web_url(self.html_url, urls.repository_url(self.full_name))
        if self.name is None:
            self.name = self.full_name.partition("/")[2]
        return self

    @property
    def owner_login(self) -> str:
        return self.owner.login if self.owner is not None else self.full_name.partition("/")[0]


class RepositorySearch(_Payload):
    """``GET /search/repositories``."""

    total_count: Count = 0
    items: list[RepositoryPayload]


# --------------------------------------------------------------------------------- OAuth
class OAuthTokenAnswer(_Payload):
    """``POST /login/oauth/access_token`` (JSON): a token, or ``{"error": ...}`` on a 200 as GitHub does."""

    access_token: str | None = None
    scope: Annotated[str | None, _optional_text(MAX_NAME)] = None
    error: Annotated[str | None, _optional_text(64)] = None

    @field_validator("access_token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        # A token is used as it is, never cleaned or cut: anything but printable ASCII is not a token.
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > MAX_TOKEN_CHARS or not value.isascii():
            raise ValueError("not a token")
        if not value.isprintable() or " " in value:
            raise ValueError("not a token")
        return value


# --------------------------------------------------------------------------------- parsing
def _describe(exc: ValidationError) -> list[str]:
    """Where the payload was wrong (field paths and error types: never the values, they are upstream's)."""
    return [f"{'.'.join(str(p) for p in e['loc'])}:{e['type']}" for e in exc.errors()[:5]]


def parse(model: type[M], data: Any, *, what: str, context: Mapping[str, Any] | None = None) -> M:
    """``data`` validated as ``model``; :class:`UpstreamUnavailable` (502) when it does not fit."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data, context=dict(context or {}))
    except (ValidationError, RecursionError, OverflowError, ValueError) as exc:
        problems = _describe(exc) if isinstance(exc, ValidationError) else [type(exc).__name__]
        logger.warning("github payload rejected", extra={"payload": what, "problems": problems})
        raise UpstreamUnavailable(f"GitHub returned an unexpected {what}; try again shortly.") from exc


def repository(data: Any) -> RepositoryPayload:
    return parse(RepositoryPayload, data, what="repository")


def repositories(data: Any) -> list[RepositoryPayload]:
    if not isinstance(data, list):
        raise parse_error("repository list")
    return [repository(item) for item in data]


def repository_search(data: Any) -> RepositorySearch:
    return parse(RepositorySearch, data, what="repository search")


def user_profile(data: Any) -> UserProfile:
    return parse(UserProfile, data, what="user profile")


def oauth_token(data: Any) -> OAuthTokenAnswer:
    return parse(OAuthTokenAnswer, data, what="OAuth answer")


def parse_error(what: str) -> UpstreamUnavailable:
    logger.warning("github payload rejected", extra={"payload": what, "problems": ["shape"]})
    return UpstreamUnavailable(f"GitHub returned an unexpected {what}; try again shortly.")


__all__ = [
    "PG_BIGINT_MAX",
    "PG_INTEGER_MAX",
    "OAuthTokenAnswer",
    "RepositoryPayload",
    "RepositorySearch",
    "UserProfile",
    "UserRef",
    "oauth_token",
    "parse",
    "repositories",
    "repository",
    "repository_search",
    "user_profile",
]
