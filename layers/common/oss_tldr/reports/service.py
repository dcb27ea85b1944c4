"""The report service: what the report function and ``make report`` call. Logic only, no HTTP.

A request for ``(owner/repo, timeframe)``:

1. validates the names and the timeframe (nothing is written for bad input), resolves the window;
2. tries the cache hit — one statement (:func:`oss_tldr.reports.hit.find_section`): a public
   repository's report is served with no GitHub or OpenAI call; a private one only to a caller whose own
   token was shown to reach it in the last few minutes (else ``GET /repos/{owner}/{repo}`` with the
   caller's token first);
3. on a miss runs :func:`cache.get_or_generate`: one generation per key across requests and containers.
   The generation asks GitHub once with the *generator's* token (one GraphQL query: the repository, the
   window's exact counts and the ranked candidates; it also upserts the ``repositories`` row by GitHub's
   id and is the generator's private-access check), then builds the content (≤ 2 chat completions).
   Waiters make no GitHub call for a public repository.

Who may see what (the requester, private repositories, privacy before the single flight) is
:mod:`oss_tldr.reports.visibility`; the force quota is :mod:`oss_tldr.reports.quota`; the listings and
the admin's invalidation are :mod:`oss_tldr.reports.listings`.

Cold start: a cache hit (step 2) loads neither SQLAlchemy's ORM nor the OpenAI SDK (docs/performance.md),
so the modules of everything else — the single flight, jobs, report records and the force quota, all ORM
statements — are imported by the functions that use them, each marked "the miss's modules".
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oss_tldr import deadline as request_budget
from oss_tldr.db.errors import log_exception
from oss_tldr.errors import BadRequest, DomainError, NotFound, ServiceUnavailable
from oss_tldr.observability import MetricUnit, metrics
from oss_tldr.repo_refs import validate_owner_repo
from oss_tldr.reports import refresh
from oss_tldr.reports.hit import find_section
from oss_tldr.reports.models import SECTIONS, CacheKey, Fingerprint, JobView, SectionHit, StoredReport
from oss_tldr.reports.visibility import (
    LOOKED_UP,
    NameMoved,
    Requester,
    VisibilityGate,
    ensure_private_access,
    establish_visibility,
    github_client,
    record_repository,
    repository_not_found,
)
from oss_tldr.settings import Settings, get_settings
from oss_tldr.windows import TIMEFRAMES, Window, is_timeframe, window_for

if TYPE_CHECKING:
    from oss_tldr.reports import cache

ProgressListener = Callable[[int, str], None]


def _metric(name: str, value: float, unit: MetricUnit = MetricUnit.Count) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


class ReportStillGenerating(ServiceUnavailable):
    """A section could not wait any longer for the shared generation (it goes on; ask again shortly)."""

    code = "report_generating"
    default_detail = "The report is still being generated; ask again in a few seconds."
    retry_after = 5


@dataclass(frozen=True)
class SectionResult:
    section: str
    body: str  # JSON text of the section's array, or the TL;DR text for "tldr"
    cached: bool
    generated_at: dt.datetime
    expires_at: dt.datetime | None
    report_id: int
    stats: str  # JSON text of the window's counts
    partial: bool
    stale: bool = False  # served past its expiry while one refresh runs


@dataclass(frozen=True)
class ReportResult:
    report: StoredReport
    cached: bool
    job_id: uuid.UUID | None
    stale: bool = False


@dataclass(frozen=True)
class Pending:
    """The shared generation did not finish within this request's time; poll the job."""

    job_id: uuid.UUID | None
    status: str
    progress: int


def current_fingerprint(settings: Settings | None = None) -> Fingerprint:
    """The summariser and prompt version a miss would use, without building the summariser (building the
    OpenAI one imports the SDK, which the hit path must not pay for)."""
    from oss_tldr.reports.summarise import summariser_identity  # cold start: ~9 ms the hit path skips

    name, prompt_version = summariser_identity(settings)
    return Fingerprint(name, prompt_version)


# Left of the request's deadline when a wait for a shared generation ends: enough for the waiter's own
# visibility lookup and the answer (so an outsider's answer is the 404 of a missing repository, not a 503).
WAIT_MARGIN_SECONDS = 4.0


def wait_deadline() -> float:
    """Until when a request waits for a shared generation (a ``time.monotonic()`` value): at most
    ``REPORT_WAIT_SECONDS``, and never closer than :data:`WAIT_MARGIN_SECONDS` to the request's deadline
    (:mod:`oss_tldr.deadline`; API Gateway gives up after 29 s)."""
    limit = time.monotonic() + get_settings().report_wait_seconds
    at = request_budget.deadline()
    return limit if at is None else min(limit, at - WAIT_MARGIN_SECONDS)


def validate(owner: str, repo: str, timeframe: str) -> tuple[str, str, Window]:
    """Names GitHub allows and a known timeframe, or :class:`BadRequest` (400); the current window."""
    owner, repo = validate_owner_repo(owner, repo)
    if not isinstance(timeframe, str) or not is_timeframe(timeframe):
        raise BadRequest(f"Unknown timeframe: use one of {', '.join(TIMEFRAMES)}.", code="invalid_timeframe")
    return owner, repo, window_for(timeframe)


def generator_for(
    requester: Requester, owner: str, repo: str, window: Window, listener: ProgressListener | None = None
) -> cache.Generate[Any]:
    """The generation of one report with the requester's token: the request's, and the worker's for a
    queued job (:mod:`oss_tldr.reports.worker`)."""

    def generate(progress: cache.Progress) -> cache.Generated[Any]:
        from oss_tldr.github.activity import fetch_activity  # the cold path only
        from oss_tldr.reports import cache
        from oss_tldr.reports.content import build_report_content
        from oss_tldr.reports.summarise import get_summariser

        def report(pct: int, message: str) -> None:
            progress(pct, message)
            if listener is not None:
                listener(pct, message)

        report(1, "Asking GitHub for the window's activity")
        asked = f"{owner}/{repo}"
        try:
            activity = fetch_activity(github_client(requester.token()), asked, window)  # the one request
        except NotFound as exc:  # missing, or not visible to the token: the REST lookup's very 404
            raise repository_not_found() from exc
        repository_id = record_repository(requester, activity.repository, asked=asked)
        report(LOOKED_UP, "Repository found")  # followers waiting for its row may read it now
        content = build_report_content(activity, window, summariser=get_summariser(), progress=report)
        return cache.Generated(repository_id, content)

    return generate


def _obtain(
    requester: Requester,
    owner: str,
    repo: str,
    window: Window,
    *,
    force: bool,
    deadline: float,
    listener: ProgressListener | None = None,
    asynchronous: bool = False,
) -> tuple[int, bool, uuid.UUID | None]:
    """A report id for the key after a miss: ``(report_id, generated_here, job_id)``. ``asynchronous``: a
    generation this request claims is handed to the worker (:func:`refresh.hand_off`) and followed."""
    from oss_tldr.reports import cache, jobs  # the miss's modules
    from oss_tldr.reports.quota import ForceQuota

    key = CacheKey(f"{owner}/{repo}", window.timeframe, window.start, window.end)
    establish_visibility(requester, owner, repo, unknown=False)  # before any lease, wait, job or quota
    quota = ForceQuota(requester.user_id)
    try:
        outcome = cache.get_or_generate(
            key,
            current_fingerprint(),
            generator_for(requester, owner, repo, window, listener),
            expires_at=window.expires_at,
            deadline=deadline,
            requested_by=requester.user_id,
            force=force,
            lease=dt.timedelta(seconds=get_settings().report_lease_seconds),
            before_claim=quota.take if force else None,
            claim_lost=quota.give_back,
            while_following=VisibilityGate(requester, owner, repo),
            hand_off=refresh.hand_off if asynchronous else None,
        )
    except cache.GenerationPending as pending:
        if not pending.own:  # the job this request handed to the worker is its own news
            quota.give_back()
            # What another request's generation is doing is news only to those who may see the repository.
            establish_visibility(requester, owner, repo, unknown=True)
        elif pending.job_id is not None:
            # A 202 with its own job before the worker looked the repository up: a missing repository must
            # answer as a private one being generated does (the missing repository's 404), so the asker's
            # token decides now; a refused (or failed) request withdraws its job (its message does nothing).
            try:
                establish_visibility(requester, owner, repo, unknown=True)
            except DomainError:
                jobs.abandon(key, pending.job_id)
                quota.give_back()
                raise
        raise
    except cache.GenerationFailed:
        quota.give_back()
        establish_visibility(requester, owner, repo, unknown=True)
        raise
    except DomainError:
        quota.give_back()  # a failed request changes nothing
        raise
    if outcome.generated_here:
        _metric("GenerationSeconds", outcome.seconds, MetricUnit.Seconds)
    return outcome.report_id, outcome.generated_here, outcome.job_id


def _served(report: StoredReport | None) -> StoredReport:
    if report is None:  # invalidated between generation and reading: rare, and retrying is right
        raise NotFound("The report was just invalidated; ask again.", code="report_invalidated")
    return report


def _hit(
    requester: Requester,
    owner: str,
    repo: str,
    window: Window,
    section: str,
    *,
    session_id: str | None = None,
) -> SectionResult | None:
    """The cache hit, served when the requester may see it; None for a miss — also when the name now leads
    GitHub to another repository than the cached row's (a former name taken since: that one is a miss).
    A stale hit (:mod:`oss_tldr.reports.refresh`) is served too, once its refresh is queued."""
    fingerprint = current_fingerprint()
    hit = find_section(
        f"{owner}/{repo}",
        window.timeframe,
        window.start,
        window.end,
        section,
        fingerprint,
        requester.user_id,
        session_id,
        stale_for=refresh.stale_for(window.timeframe),
    )
    if hit is None:
        return None
    try:
        served = _serve_hit(requester, owner, repo, section, hit)
    except NameMoved:
        return None  # the name is another repository's now (its lookup stored it)
    if hit.stale and not hit.refreshing:
        try:
            refresh.queue_refresh(f"{owner}/{repo}", window, fingerprint, requested_by=requester.user_id)
        except Exception as exc:  # the database or the queue away: the stale report is still the answer
            log_exception("queueing a stale report's refresh failed", exc)
    return served


def get_section(
    requester: Requester,
    owner: str,
    repo: str,
    timeframe: str,
    section: str,
    *,
    force: bool = False,
    deadline: float | None = None,
) -> SectionResult:
    """One section of the shared report, generating it (once, for everyone) when needed."""
    if section not in SECTIONS:
        raise BadRequest("Unknown section: use prs, issues, people or tldr.", code="invalid_section")
    owner, repo, window = validate(owner, repo, timeframe)
    deadline = deadline if deadline is not None else wait_deadline()
    if not force:
        served = _hit(requester, owner, repo, window, section, session_id=requester.session_id)
        if served is not None:
            return served
    requester.verify_session()  # before anything a miss writes or asks GitHub
    from oss_tldr.reports import cache  # the miss's modules

    _metric("CacheMiss", 1)
    try:
        report_id, generated_here, _ = _obtain(requester, owner, repo, window, force=force, deadline=deadline)
    except cache.GenerationPending as exc:
        raise ReportStillGenerating() from exc
    report = _load_for(requester, owner, repo, report_id, generated_here)
    data = report.section(section)
    return SectionResult(
        section=section,
        body=data if section == "tldr" else json.dumps(data, separators=(",", ":")),
        cached=False,
        generated_at=report.generated_at,
        expires_at=report.expires_at,
        report_id=report.id,
        stats=json.dumps(report.stats, separators=(",", ":")),
        partial=report.partial,
    )


def _serve_hit(requester: Requester, owner: str, repo: str, section: str, hit: SectionHit) -> SectionResult:
    if not hit.session_ok:
        requester.verify_session()  # raises 401 with the precise reason
    if hit.is_private and not hit.access_ok:
        ensure_private_access(requester, owner, repo, hit.repository_id)
        from oss_tldr.reports import records  # the miss's modules (this one just asked GitHub)

        if requester.user_id is not None:
            records.record_access(requester.user_id, hit.report_id)
    _metric("StaleHit" if hit.stale else "CacheHit", 1)
    return SectionResult(
        section=section,
        body=hit.data,
        cached=True,
        generated_at=hit.generated_at,
        expires_at=hit.expires_at,
        report_id=hit.report_id,
        stats=hit.stats,
        partial=hit.partial,
        stale=hit.stale,
    )


def _load_for(
    requester: Requester, owner: str, repo: str, report_id: int, generated_here: bool
) -> StoredReport:
    """The report after a generation; a waiter checks its own access to a private repository first."""
    from oss_tldr.reports import records  # the miss's modules

    report = _served(records.load_report(report_id))
    if report.is_private and not generated_here:
        ensure_private_access(requester, owner, repo, report.repository_id)
    if requester.user_id is not None:
        records.record_access(requester.user_id, report.id)
    return report


def generate_report(
    requester: Requester,
    owner: str,
    repo: str,
    timeframe: str,
    *,
    force: bool = False,
    deadline: float | None = None,
    listener: ProgressListener | None = None,
    asynchronous: bool = False,
) -> ReportResult | Pending:
    """The whole report (``POST /reports/generate``, ``make report``): served from the cache (a stale one
    while its refresh is queued), generated here (``asynchronous``: by the worker, followed until
    ``deadline``), or the shared generation's result; :class:`Pending` when that did not finish in time.
    A signed-in requester answered with a job is one of the users who asked for it."""
    from oss_tldr.reports import cache, jobs, records  # the miss's modules (a hit loads the whole report)

    owner, repo, window = validate(owner, repo, timeframe)
    deadline = deadline if deadline is not None else wait_deadline()
    if not force:
        served = _hit(requester, owner, repo, window, "tldr")
        if served is not None:
            report = _served(records.load_report(served.report_id))
            return ReportResult(report=report, cached=True, job_id=None, stale=served.stale)
    _metric("CacheMiss", 1)
    try:
        report_id, generated_here, job_id = _obtain(
            requester,
            owner,
            repo,
            window,
            force=force,
            deadline=deadline,
            listener=listener,
            asynchronous=asynchronous,
        )
    except cache.GenerationPending as pending:
        if pending.job_id is not None and requester.user_id is not None:
            jobs.add_requester(pending.job_id, requester.user_id)
        view = jobs.job_view(pending.job_id) if pending.job_id else None
        return Pending(
            job_id=pending.job_id,
            status=view.status if view else "queued",
            progress=view.progress if view else 0,
        )
    report = _load_for(requester, owner, repo, report_id, generated_here)
    return ReportResult(report=report, cached=False, job_id=job_id)


def report_by_id(requester: Requester, report_id: int) -> StoredReport:
    """A stored report by id; private ones only for callers who saw it before (its id in their history, or
    a remembered access check) and whose token still reaches the repository, and a user's own imported
    copy only to that user. Anyone else gets the 404 of a missing id."""
    from oss_tldr.reports import records  # the miss's modules (a report by id is read through the ORM)

    report = records.load_report(report_id, viewer=requester.user_id)
    if report is None or (report.owner_user_id is not None and report.owner_user_id != requester.user_id):
        raise NotFound("Report not found.", code="not_found")
    if report.is_private and not report.viewer_seen:
        # An id the caller has no record of seeing: the missing id's 404, at its cost (no GitHub call),
        # so private ids cannot be told from missing ones by status or by timing.
        raise NotFound("Report not found.", code="not_found")
    if report.is_private:
        owner, _, name = report.repo.partition("/")
        try:
            ensure_private_access(requester, owner, name, report.repository_id)
        except NotFound as exc:
            raise NotFound("Report not found.", code="not_found") from exc
    if requester.user_id is not None:
        records.record_access(requester.user_id, report.id)
    return report


def job_status(requester: Requester, job_id: str) -> JobView:
    """A job, for the users who asked for it (its claimer, and each request answered with it); anyone else
    gets the unknown job's 404. No GitHub call."""
    from oss_tldr.reports import jobs  # the miss's modules

    try:
        parsed = uuid.UUID(job_id)
    except (ValueError, TypeError) as exc:
        raise NotFound("Job not found.", code="not_found") from exc
    view = jobs.job_view(parsed, visible_to=requester.user_id)
    if view is None:
        raise NotFound("Job not found.", code="not_found")
    return view
