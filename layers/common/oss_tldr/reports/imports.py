"""Import from the old client's localStorage (``oss-tldr-repos:<id>`` and ``oss-tldr-reports:<id>``).

* Imported reports are the importing user's own: each is stored as a ``reports`` row with
  ``owner_user_id`` = the importer (summariser ``imported``), listed in their history and served to them
  alone. An import never updates, replaces or creates a shared cache row (``owner_user_id IS NULL``), and
  the cache never serves an owned row, so nothing imported reaches another user (issue 7, finding 1).
  Rows are written by the one report-row writer (:func:`records.write_report`) and put in the history by
  the one access writer (:func:`records.access_upsert`).
* Idempotent: tracking uses ``ON CONFLICT DO NOTHING``; a report is written when the user has no copy of
  its key yet, or replaces the user's own copy when it is newer. When the shared report of the same window
  is as new, or still live, it goes into the user's history instead and nothing is written. Importing the
  same export twice changes nothing the second time (not even the audit log).
* Malformed entries are skipped and counted, never fatal; so are repositories the caller cannot see. A
  ``generatedAt`` that parses but lies before GitHub existed (2008) is no export of ours: the whole import
  is a 422 ``invalid_generated_at`` and writes nothing.
* Trust: every repository is checked on GitHub with the caller's token unless it is already cached as
  public, so an import cannot reveal or attach a private repository the caller cannot see. Report content
  is validated against the report shapes and rebuilt from what can be trusted
  (:mod:`oss_tldr.reports.import_shapes`).

A reports concern: it writes reports, and uses ``oss_tldr.repos`` (below it) for the repository rows and
the tracking.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oss_tldr.db.engine import session_scope
from oss_tldr.db.models import Report
from oss_tldr.identity import audit
from oss_tldr.reports.import_shapes import ImportedReport, Ref, parse_report, repo_ref
from oss_tldr.reports.models import ReportSlot
from oss_tldr.reports.records import access_upsert, write_report
from oss_tldr.repos import store
from oss_tldr.repos.tracking import lookup, user_github_token
from oss_tldr.windows import window_for

MAX_REPOS = 500
MAX_REPORTS = 200
LOOKUP_WORKERS = 8


@dataclass(frozen=True)
class ImportResult:
    repositories_imported: int
    reports_imported: int
    skipped: int


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _resolve(user_id: int, refs: dict[str, Ref]) -> dict[str, Mapping[str, Any] | int]:
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


def _serving_shared(session: Session, slot: ReportSlot, generated_at: dt.datetime) -> int | None:
    """The shared report of the slot's window when it serves instead of an import generated at
    ``generated_at``: as new, or still live."""
    shared = session.execute(
        select(Report.id, Report.generated_at, Report.expires_at).where(slot.shared().where())
    ).one_or_none()
    if shared is not None and (
        shared.generated_at >= generated_at
        or shared.expires_at is None
        or shared.expires_at > dt.datetime.now(dt.UTC)
    ):
        return int(shared.id)
    return None


def _store_report(session: Session, user_id: int, repository_id: int, report: ImportedReport) -> bool:
    """Write ``report`` as ``user_id``'s own copy of its key, or put the shared report of the same window in
    their history when that one is as new or still live. Never touches a shared row. True when written."""
    window = window_for(report.timeframe, report.generated_at)
    slot = ReportSlot(repository_id, report.timeframe, window.start, window.end, owner_user_id=user_id)
    own = session.execute(
        select(Report.id, Report.generated_at).where(slot.where()).with_for_update()
    ).one_or_none()
    if own is not None:
        kept = own.id if own.generated_at >= report.generated_at else None  # their copy is as new
    else:
        kept = _serving_shared(session, slot, report.generated_at)  # into the history, no copy
    if kept is not None:
        report_id, changed = kept, False
    else:
        written = write_report(
            session,
            slot,
            report,
            expires_at=window.expires_at,
            generated_at=report.generated_at,
            version=report.version,
        )
        if written is None:  # a concurrent import of the same user wrote it (as new) meanwhile
            return False
        report_id, changed = written, True
    session.execute(access_upsert(user_id, report_id, opened=False))
    return changed


def import_local_storage(user_id: int, repos: list[Any] | None, reports: list[Any] | None) -> ImportResult:
    now = dt.datetime.now(dt.UTC)
    repo_entries, report_entries = _list(repos), _list(reports)
    skipped = max(0, len(repo_entries) - MAX_REPOS) + max(0, len(report_entries) - MAX_REPORTS)
    tracked_refs: dict[str, Ref] = {}
    for entry in repo_entries[:MAX_REPOS]:
        ref = repo_ref(entry)
        if ref is None:
            skipped += 1
        else:
            tracked_refs.setdefault(ref.key, ref)
    parsed_reports: list[ImportedReport] = []
    for index, entry in enumerate(report_entries[:MAX_REPORTS]):
        parsed = parse_report(entry, now, index)
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
