"""Import from the old client's localStorage (``oss-tldr-repos:<id>`` and ``oss-tldr-reports:<id>``).

* Idempotent: tracking uses ``ON CONFLICT DO NOTHING``; a report is written only when no report exists for
  its cache key, or when it is newer than an earlier *imported* (or already expired) one. Importing the
  same export twice changes nothing the second time (not even the audit log).
* Malformed entries are skipped and counted, never fatal; so are repositories the caller cannot see.
* Trust: every repository is checked on GitHub with the caller's token unless it is already cached as
  public, so an import cannot reveal or attach a private repository the caller cannot see. Imported report
  content is validated against the report shapes and stored with ``summariser = "imported"``: the shared
  cache never serves it to anyone as a fresh report (the report engine only hits rows of its own
  summariser), and it never replaces a newer or live server-side report.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from oss_tldr.db.engine import session_scope
from oss_tldr.db.models import Report, UserReportAccess
from oss_tldr.errors import BadRequest
from oss_tldr.github.names import full_name_key, parse_repo_ref
from oss_tldr.identity import audit
from oss_tldr.reports.schemas import Item, Person
from oss_tldr.reports.windows import is_timeframe, window_for
from oss_tldr.repos import store
from oss_tldr.repos.tracking import lookup, user_github_token

IMPORTED_SUMMARISER = "imported"
MAX_REPOS = 500
MAX_REPORTS = 200
LOOKUP_WORKERS = 8
CLOCK_SKEW = dt.timedelta(minutes=5)


class _ImportedItem(Item):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    @field_validator("html_url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("html_url must be an http(s) URL")
        return value


class _ImportedPerson(Person):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    prs: list[_ImportedItem] = Field(default_factory=list)  # type: ignore[assignment]
    issues: list[_ImportedItem] = Field(default_factory=list)  # type: ignore[assignment]


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


def _generated_at(value: Any, now: dt.datetime) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return parsed if parsed <= now + CLOCK_SKEW else None


def _section(data: Mapping[str, Any], name: str, model: type[Item] | type[Person]) -> list[Any]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{name} is not a list")
    return [model.model_validate(item).model_dump(mode="json") for item in value]


def _report(entry: Any, now: dt.datetime) -> _ImportedReport | None:
    if not isinstance(entry, Mapping):
        return None
    ref = _repo_ref(entry.get("repo"))
    timeframe = entry.get("timeframe")
    generated_at = _generated_at(entry.get("generatedAt"), now)
    data = entry.get("data")
    if ref is None or not isinstance(timeframe, str) or not is_timeframe(timeframe):
        return None
    if generated_at is None or not isinstance(data, Mapping):
        return None
    tldr = data.get("tldr") or ""
    version = entry.get("version", 1)
    if not isinstance(tldr, str) or not isinstance(version, int) or isinstance(version, bool):
        return None
    try:
        prs = _section(data, "prs", _ImportedItem)
        issues = _section(data, "issues", _ImportedItem)
        people = _section(data, "people", _ImportedPerson)
    except (ValueError, ValidationError):
        return None
    return _ImportedReport(
        ref, timeframe, generated_at, tldr, prs, issues, people, max(1, min(version, 1000))
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
    window = window_for(report.timeframe, report.generated_at)
    key = (
        Report.repository_id == repository_id,
        Report.timeframe == report.timeframe,
        Report.timeframe_start == window.start,
        Report.timeframe_end == window.end,
    )
    values = {
        "tldr_text": report.tldr,
        "prs": report.prs,
        "issues": report.issues,
        "people": report.people,
        "generated_at": report.generated_at,
        "expires_at": window.expires_at,
        "version": report.version,
        "summariser": IMPORTED_SUMMARISER,
        "prompt_version": None,
    }
    existing = session.execute(
        select(Report.id, Report.generated_at, Report.expires_at, Report.summariser)
        .where(*key)
        .with_for_update()
    ).one_or_none()
    changed = False
    if existing is None:
        report_id = session.execute(
            insert(Report)
            .values(
                repository_id=repository_id,
                timeframe=report.timeframe,
                timeframe_start=window.start,
                timeframe_end=window.end,
                **values,
            )
            .returning(Report.id)
        ).scalar_one()
        changed = True
    else:
        report_id = existing.id
        replaceable = existing.summariser == IMPORTED_SUMMARISER or (
            existing.expires_at is not None and existing.expires_at <= dt.datetime.now(dt.UTC)
        )
        if existing.generated_at < report.generated_at and replaceable:
            session.execute(update(Report).where(Report.id == report_id).values(**values))
            changed = True
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
    for entry in report_entries[:MAX_REPORTS]:
        parsed = _report(entry, now)
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
