"""The old client's export as the import reads it: the bounds of imported content, the report shapes it
is validated against (rebuilt from what can be trusted), and the parsing of one export entry.

Text is plain (storable by Postgres, no control or bidi-override characters, bounded lengths),
``profile_url`` is rebuilt from the login, ``avatar_url`` kept only on GitHub's avatar hosts, an item's
``html_url`` kept only on GitHub (an http(s) URL elsewhere is rebuilt from the repository and number; any
other scheme skips the report). What an import then writes is :mod:`oss_tldr.reports.imports`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from oss_tldr import urls
from oss_tldr.content_models import Item, Person, ReportStats, UserRef
from oss_tldr.errors import BadRequest, ValidationFailed
from oss_tldr.limits import PG_INTEGER_MAX
from oss_tldr.repo_refs import full_name_key, parse_repo_ref
from oss_tldr.text import pg_text
from oss_tldr.windows import is_timeframe

IMPORTED_SUMMARISER = "imported"
CLOCK_SKEW = dt.timedelta(minutes=5)
# GitHub opened in 2008: an export claiming an earlier date is forged (and year 0001 overflowed windows).
EARLIEST_GENERATED_AT = dt.datetime(2008, 1, 1, tzinfo=dt.UTC)

# Bounds of imported text (characters) and lists; longer values are cut, longer lists shortened. Generous
# next to what a generation writes (titles 300 characters, summaries 50 words, the TL;DR 100 words).
TLDR_CHARS = 4000
TITLE_CHARS = 300
SUMMARY_CHARS = 1000
NAME_CHARS = 100  # logins, labels, ids
FIELD_CHARS = 64  # state, timestamps
MAX_ITEMS = 500  # per section, and per person
MAX_LABELS = 100
MAX_COUNT = PG_INTEGER_MAX
# C0/C1 controls except tab and newline, and the bidi embedding/override/isolate characters (which make
# text display other than it reads).
_UNPLAIN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain_text(value: str, limit: int) -> str:
    """Imported text as we store it: storable by Postgres, without control characters, at most ``limit``."""
    return _UNPLAIN.sub("", pg_text(value)).strip()[:limit]


def _plain(limit: int) -> AfterValidator:
    return AfterValidator(lambda value: plain_text(value, limit))


def _clamped(value: int) -> int:
    return max(0, min(value, MAX_COUNT))


def _first(limit: int) -> AfterValidator:
    return AfterValidator(lambda values: values[:limit])


_Count = Annotated[int, AfterValidator(_clamped)]


class _ImportedUser(UserRef):
    """A person of an import: the profile is rebuilt from the login, the avatar kept only on GitHub."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    login: Annotated[str, _plain(NAME_CHARS)]

    @model_validator(mode="after")
    def _trusted_urls(self) -> _ImportedUser:
        self.profile_url = urls.profile_url(self.login)
        self.avatar_url = urls.safe_avatar_url(self.avatar_url)
        return self


class _ImportedItem(Item):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    id: Annotated[str, _plain(NAME_CHARS)]
    number: int = Field(ge=1, le=MAX_COUNT)
    title: Annotated[str, _plain(TITLE_CHARS)]
    state: Annotated[str, _plain(FIELD_CHARS)]
    summary: Annotated[str, _plain(SUMMARY_CHARS)] = ""
    created_at: Annotated[str, _plain(FIELD_CHARS)]
    updated_at: Annotated[str, _plain(FIELD_CHARS)]
    comments: _Count = 0
    reactions: _Count = 0
    labels: Annotated[list[Annotated[str, _plain(NAME_CHARS)]], _first(MAX_LABELS)] = Field(
        default_factory=list
    )
    user: _ImportedUser
    assignees: Annotated[list[_ImportedUser], _first(MAX_LABELS)] = Field(  # type: ignore[assignment]
        default_factory=list
    )

    @field_validator("html_url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("html_url must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _github_url(self, info: ValidationInfo) -> _ImportedItem:
        repo = info.context["repo"] if isinstance(info.context, dict) else None
        if repo is None:
            raise ValueError("the item's repository is not known")
        self.html_url = urls.safe_web_url(self.html_url) or urls.item_url(
            repo, self.number, pull_request=self.is_pull_request
        )
        return self


class _ImportedPerson(Person):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    username: Annotated[str, _plain(NAME_CHARS)]
    tldr: Annotated[str, _plain(SUMMARY_CHARS)] = ""
    prs: Annotated[list[_ImportedItem], _first(MAX_ITEMS)] = Field(  # type: ignore[assignment]
        default_factory=list
    )
    issues: Annotated[list[_ImportedItem], _first(MAX_ITEMS)] = Field(  # type: ignore[assignment]
        default_factory=list
    )
    total_items: _Count = 0

    @model_validator(mode="after")
    def _trusted_urls(self) -> _ImportedPerson:
        self.profile_url = urls.profile_url(self.username)
        self.avatar_url = urls.safe_avatar_url(self.avatar_url)
        return self


@dataclass(frozen=True)
class Ref:
    owner: str
    repo: str

    @property
    def key(self) -> str:
        return full_name_key(self.owner, self.repo)


@dataclass(frozen=True)
class ImportedReport:
    """One report of an export, validated and cleaned (a ``ReportPayload`` for the report-row writer)."""

    ref: Ref
    timeframe: str
    generated_at: dt.datetime
    tldr: str
    prs: list[Any]
    issues: list[Any]
    people: list[Any]
    version: int
    summariser: str = IMPORTED_SUMMARISER
    prompt_version: str | None = None
    partial: bool = False
    fallbacks: Mapping[str, object] = field(default_factory=dict)

    @property
    def stats(self) -> ReportStats:
        """An export carries no counts of its own: what its lists show is all that is known."""
        return ReportStats(
            pull_requests=len(self.prs),
            pull_requests_merged=sum(1 for pr in self.prs if isinstance(pr, dict) and pr.get("merged")),
            issues=len(self.issues),
        )


def repo_ref(entry: Any) -> Ref | None:
    value = entry.get("full_name") if isinstance(entry, Mapping) else entry
    if not isinstance(value, str):
        return None
    try:
        return Ref(*parse_repo_ref(value))
    except BadRequest:
        return None


def _forged_date(index: int) -> ValidationFailed:
    return ValidationFailed(
        f"reports[{index}].generatedAt lies before 2008, before GitHub existed: this is not an export of "
        "the old client, and nothing was imported.",
        code="invalid_generated_at",
    )


def _generated_at(value: Any, now: dt.datetime, index: int) -> dt.datetime | None:
    """The moment a report was generated (UTC); None (the report is skipped) when unparseable or in the
    future; :class:`ValidationFailed` when it parses but lies before GitHub existed. The year is checked
    before any arithmetic: a date near year 1 or 9999 overflows when shifted to UTC."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.year < EARLIEST_GENERATED_AT.year - 1:
        raise _forged_date(index)
    if parsed.year > now.year + 1:
        return None
    parsed = parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if parsed < EARLIEST_GENERATED_AT:
        raise _forged_date(index)
    return parsed if parsed <= now + CLOCK_SKEW else None


def _section(data: Mapping[str, Any], name: str, model: type[Item] | type[Person], repo: str) -> list[Any]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{name} is not a list")
    context = {"repo": repo}
    return [model.model_validate(item, context=context).model_dump(mode="json") for item in value[:MAX_ITEMS]]


def parse_report(entry: Any, now: dt.datetime, index: int) -> ImportedReport | None:
    """An export's report entry, or None (skipped) when it is malformed; :class:`ValidationFailed` for a
    forged ``generatedAt`` (see :func:`_generated_at`)."""
    if not isinstance(entry, Mapping):
        return None
    ref = repo_ref(entry.get("repo"))
    timeframe = entry.get("timeframe")
    generated_at = _generated_at(entry.get("generatedAt"), now, index)
    data = entry.get("data")
    if ref is None or not isinstance(timeframe, str) or not is_timeframe(timeframe):
        return None
    if generated_at is None or not isinstance(data, Mapping):
        return None
    tldr = data.get("tldr") or ""
    version = entry.get("version", 1)
    if not isinstance(tldr, str) or not isinstance(version, int) or isinstance(version, bool):
        return None
    repo = f"{ref.owner}/{ref.repo}"
    try:
        prs = _section(data, "prs", _ImportedItem, repo)
        issues = _section(data, "issues", _ImportedItem, repo)
        people = _section(data, "people", _ImportedPerson, repo)
    except (ValueError, ValidationError):
        return None
    return ImportedReport(
        ref,
        timeframe,
        generated_at,
        plain_text(tldr, TLDR_CHARS),
        prs,
        issues,
        people,
        max(1, min(version, 1000)),
    )
