"""Import from the old client's localStorage (``oss-tldr-repos:<id>`` and ``oss-tldr-reports:<id>``).

* Imported reports are the importing user's own: each is stored as a ``reports`` row with
  ``owner_user_id`` = the importer (summariser ``imported``), listed in their history and served to them
  alone. An import never updates, replaces or creates a shared cache row (``owner_user_id IS NULL``), and
  the cache never serves an owned row, so nothing imported reaches another user (issue 7, finding 1).
* Idempotent: tracking uses ``ON CONFLICT DO NOTHING``; a report is written when the user has no copy of
  its key yet, or replaces the user's own copy when it is newer. When the shared report of the same window
  is as new, or still live, it goes into the user's history instead and nothing is written. Importing the
  same export twice changes nothing the second time (not even the audit log).
* Malformed entries are skipped and counted, never fatal; so are repositories the caller cannot see. A
  ``generatedAt`` that parses but lies before GitHub existed (2008) is no export of ours: the whole import
  is a 422 ``invalid_generated_at`` and writes nothing.
* Trust: every repository is checked on GitHub with the caller's token unless it is already cached as
  public, so an import cannot reveal or attach a private repository the caller cannot see. Report content
  is validated against the report shapes and rebuilt from what can be trusted: text is plain (storable by
  Postgres, no control or bidi-override characters, bounded lengths), ``profile_url`` is rebuilt from the
  login, ``avatar_url`` kept only on GitHub's avatar hosts, an item's ``html_url`` kept only on GitHub
  (an http(s) URL elsewhere is rebuilt from the repository and number; any other scheme skips the report).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from oss_tldr import urls
from oss_tldr.content_models import Item, Person, UserRef
from oss_tldr.db.engine import session_scope
from oss_tldr.db.models import Report, UserReportAccess
from oss_tldr.errors import BadRequest, ValidationFailed
from oss_tldr.identity import audit
from oss_tldr.limits import PG_INTEGER_MAX
from oss_tldr.repo_refs import full_name_key, parse_repo_ref
from oss_tldr.repos import store
from oss_tldr.repos.tracking import lookup, user_github_token
from oss_tldr.text import pg_json, pg_text
from oss_tldr.windows import is_timeframe, window_for

IMPORTED_SUMMARISER = "imported"
MAX_REPOS = 500
MAX_REPORTS = 200
LOOKUP_WORKERS = 8
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
class ImportResult:
    repositories_imported: int
    reports_imported: int
    skipped: int


@dataclass(frozen=True)
class _Ref:
    owner: str
    repo: str

    @property
    def key(self) -> str:
        return full_name_key(self.owner, self.repo)


@dataclass(frozen=True)
class _ImportedReport:
    ref: _Ref
    timeframe: str
    generated_at: dt.datetime
    tldr: str
    prs: list[Any]
    issues: list[Any]
    people: list[Any]
    version: int


def _repo_ref(entry: Any) -> _Ref | None:
    value = entry.get("full_name") if isinstance(entry, Mapping) else entry
    if not isinstance(value, str):
        return None
    try:
        return _Ref(*parse_repo_ref(value))
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


def _report(entry: Any, now: dt.datetime, index: int) -> _ImportedReport | None:
    if not isinstance(entry, Mapping):
        return None
    ref = _repo_ref(entry.get("repo"))
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
    return _ImportedReport(
        ref,
        timeframe,
        generated_at,
        plain_text(tldr, TLDR_CHARS),
        prs,
        issues,
        people,
        max(1, min(version, 1000)),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _resolve(user_id: int, refs: dict[str, _Ref]) -> dict[str, Mapping[str, Any] | int]:
    """key -> GitHub payload (to upsert) or cached public repository id; invisible ones are left out."""
    with session_scope() as session:
        known = store.known_repositories(session, refs)
    resolved: dict[str, Mapping[str, Any] | int] = {
        key: row.id for key, row in known.items() if not row.is_private
    }
    missing = [ref for key, ref in refs.items() if key not in resolved]
    if missing:
        token = user_github_token(user_id)
        with ThreadPoolExecutor(max_workers=LOOKUP_WORKERS) as pool:
            # Each lookup runs in a copy of this request's context: its deadline bounds them (a thread
            # does not inherit context variables).
            futures = [
                pool.submit(contextvars.copy_context().run, lookup, token, ref.owner, ref.repo)
                for ref in missing
            ]
            payloads = [future.result() for future in futures]
        for ref, payload in zip(missing, payloads, strict=True):
            if payload is not None:
                resolved[ref.key] = payload
    return resolved


def _store_report(session: Session, user_id: int, repository_id: int, report: _ImportedReport) -> bool:
    """Write ``report`` as ``user_id``'s own copy of its key, or put the shared report of the same window in
    their history when that one is as new or still live. Never touches a shared row. True when written."""
    window = window_for(report.timeframe, report.generated_at)
    key = (
        Report.repository_id == repository_id,
        Report.timeframe == report.timeframe,
        Report.timeframe_start == window.start,
        Report.timeframe_end == window.end,
    )
    values = {
        "tldr_text": pg_text(report.tldr),
        "prs": pg_json(report.prs),
        "issues": pg_json(report.issues),
        "people": pg_json(report.people),
        "generated_at": report.generated_at,
        "expires_at": window.expires_at,
        "version": report.version,
        "summariser": IMPORTED_SUMMARISER,
        "prompt_version": None,
    }
    own = session.execute(
        select(Report.id, Report.generated_at).where(*key, Report.owner_user_id == user_id).with_for_update()
    ).one_or_none()
    changed = False
    if own is not None:
        report_id = own.id
        if own.generated_at < report.generated_at:
            session.execute(
                update(Report).where(Report.id == own.id, Report.owner_user_id == user_id).values(**values)
            )
            changed = True
    else:
        shared = session.execute(
            select(Report.id, Report.generated_at, Report.expires_at).where(
                *key, Report.owner_user_id.is_(None)
            )
        ).one_or_none()
        if shared is not None and (
            shared.generated_at >= report.generated_at
            or shared.expires_at is None
            or shared.expires_at > dt.datetime.now(dt.UTC)
        ):
            report_id = shared.id  # the server's report of this window serves: into the history, no copy
        else:
            inserted = session.execute(
                insert(Report)
                .values(
                    repository_id=repository_id,
                    timeframe=report.timeframe,
                    timeframe_start=window.start,
                    timeframe_end=window.end,
                    owner_user_id=user_id,
                    **values,
                )
                .on_conflict_do_nothing(
                    index_elements=[
                        Report.owner_user_id,
                        Report.repository_id,
                        Report.timeframe,
                        Report.timeframe_start,
                        Report.timeframe_end,
                    ],
                    index_where=Report.owner_user_id.is_not(None),
                )
                .returning(Report.id)
            ).scalar_one_or_none()
            if inserted is None:  # a concurrent import of the same user wrote it meanwhile
                return False
            report_id, changed = inserted, True
    session.execute(
        insert(UserReportAccess)
        .values(user_id=user_id, report_id=report_id)
        .on_conflict_do_nothing(index_elements=[UserReportAccess.user_id, UserReportAccess.report_id])
    )
    return changed


def import_local_storage(user_id: int, repos: list[Any] | None, reports: list[Any] | None) -> ImportResult:
    now = dt.datetime.now(dt.UTC)
    repo_entries, report_entries = _list(repos), _list(reports)
    skipped = max(0, len(repo_entries) - MAX_REPOS) + max(0, len(report_entries) - MAX_REPORTS)
    tracked_refs: dict[str, _Ref] = {}
    for entry in repo_entries[:MAX_REPOS]:
        ref = _repo_ref(entry)
        if ref is None:
            skipped += 1
        else:
            tracked_refs.setdefault(ref.key, ref)
    parsed_reports: list[_ImportedReport] = []
    for index, entry in enumerate(report_entries[:MAX_REPORTS]):
        parsed = _report(entry, now, index)
        if parsed is None:
            skipped += 1
        else:
            parsed_reports.append(parsed)
    needed = dict(tracked_refs) | {r.ref.key: r.ref for r in parsed_reports}
    resolved = _resolve(user_id, needed) if needed else {}

    repositories_imported = reports_imported = 0
    with session_scope() as session:
        ids: dict[str, int] = {}
        for key, value in resolved.items():
            ids[key] = value if isinstance(value, int) else store.upsert_repository(session, value)
        for key in tracked_refs:
            if key not in ids:
                skipped += 1
            elif store.track(session, user_id, ids[key]):
                repositories_imported += 1
        for report in parsed_reports:
            if report.ref.key not in ids:
                skipped += 1
            elif _store_report(session, user_id, ids[report.ref.key], report):
                reports_imported += 1
        if repositories_imported or reports_imported:
            audit.record_audit(
                session,
                actor_user_id=user_id,
                action=audit.IMPORT,
                target_type="user",
                target_id=user_id,
                details={
                    "repositories_imported": repositories_imported,
                    "reports_imported": reports_imported,
                    "skipped": skipped,
                },
            )
    return ImportResult(repositories_imported, reports_imported, skipped)
