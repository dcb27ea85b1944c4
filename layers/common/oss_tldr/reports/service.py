"""The report service: what the report function and ``make report`` call. Logic only, no HTTP.

A request for ``(owner/repo, timeframe)``:

1. validates the names and the timeframe (nothing is written for bad input), resolves the window;
2. tries the cache hit — one statement (:func:`store.find_section`): a public repository's report is
   served with no GitHub or OpenAI call; a private one only to a caller whose own token was shown to reach
   it in the last few minutes (else ``GET /repos/{owner}/{repo}`` with the caller's token first);
3. on a miss runs :func:`cache.get_or_generate`: one generation per key across requests and containers.
   The generation looks the repository up with the *generator's* token (request 1 of 3; it also upserts
   the ``repositories`` row and is the generator's private-access check), then builds the content
   (2 searches, ≤ 4 chat completions). Waiters make no GitHub call for a public repository.

Privacy before the single flight (:func:`_establish_visibility`): a repository known to be private is
looked up with the caller's own token *before* any lease, wait or job, and an answer that is not the
report (pending, a followed generation's failure) is given only after the caller's visibility is
established; so an outsider gets exactly the missing repository's 404 whatever is in flight.

GitHub tokens: a signed-in user's own (``github_token_for``); the CLI and background jobs use
``settings.github_token``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from oss_tldr import deadline as request_budget
from oss_tldr.errors import BadRequest, DomainError, NotFound, RateLimited, ServiceUnavailable
from oss_tldr.identity.tokens import github_token_for
from oss_tldr.limits import PG_BIGINT_MAX, PG_INTEGER_MAX
from oss_tldr.observability import MetricUnit, metrics
from oss_tldr.repo_refs import parse_repo_ref, validate_owner_repo
from oss_tldr.reports import cache, store
from oss_tldr.reports.store import CacheKey, Fingerprint, SectionHit, StoredReport
from oss_tldr.settings import Settings, get_settings
from oss_tldr.windows import TIMEFRAMES, Window, is_timeframe, window_for

if TYPE_CHECKING:  # httpx and the GitHub client are imported on a miss only (cold-start cost)
    from oss_tldr.github.client import GitHubClient

ProgressListener = Callable[[int, str], None]


def _metric(name: str, value: float, unit: MetricUnit = MetricUnit.Count) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


def _no_check() -> None:
    return None


@dataclass(frozen=True)
class Requester:
    """Who asks: a signed-in user (their own GitHub token) or the service (CLI, background jobs).

    ``session_id`` + ``verify_session``: a caller whose token signature was checked but whose session row
    was not yet; the cache-hit statement checks the row itself, anything else calls ``verify_session``
    (the full check, raising 401) first."""

    user_id: int | None
    token: Callable[[], str | None] = field(repr=False)
    session_id: str | None = None
    verify_session: Callable[[], None] = field(default=_no_check, repr=False)

    @classmethod
    def user(
        cls, user_id: int, *, session_id: str | None = None, verify_session: Callable[[], None] = _no_check
    ) -> Requester:
        def token() -> str | None:
            return github_token_for(user_id)

        return cls(user_id=user_id, token=token, session_id=session_id, verify_session=verify_session)

    @classmethod
    def service(cls, settings: Settings | None = None) -> Requester:
        service_token = (settings or get_settings()).github_token
        return cls(user_id=None, token=lambda: service_token)


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


@dataclass(frozen=True)
class ReportResult:
    report: StoredReport
    cached: bool
    job_id: uuid.UUID | None


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


def github_client(token: str | None, settings: Settings | None = None) -> GitHubClient:
    from oss_tldr.github.client import github_client as factory  # the one factory; httpx on a miss only

    return factory(token, settings)


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


def _not_found() -> NotFound:
    return NotFound("Repository not found.", code="not_found")


def _lookup(
    requester: Requester, owner: str, repo: str, github: GitHubClient | None = None
) -> tuple[int, dict[str, Any]]:
    """``GET /repos/{owner}/{repo}`` with the requester's token: upserts the repository row and, for a
    private repository, remembers that this user can see it. 404 is "not found" (private and missing
    look the same); 403, 429 and 5xx propagate (fail closed). ``(repository id, payload)``."""
    from oss_tldr.github.activity import fetch_repository  # cold start: httpx and the client, a miss only

    try:
        payload = fetch_repository(github or github_client(requester.token()), owner, repo)
    except NotFound as exc:
        raise _not_found() from exc
    repository_id, is_private = store.upsert_repository(payload)
    if is_private and requester.user_id is not None:
        ttl = dt.timedelta(seconds=get_settings().private_access_ttl_seconds)
        store.remember_access(requester.user_id, repository_id, ttl)
    return repository_id, payload


def _ensure_private_access(requester: Requester, owner: str, repo: str, repository_id: int) -> None:
    """Serve a private repository's report only after the requester's own token reached it."""
    if requester.user_id is not None and store.has_remembered_access(requester.user_id, repository_id):
        return
    _lookup(requester, owner, repo)  # raises for anything but 200


def _establish_visibility(requester: Requester, owner: str, repo: str, *, unknown: bool) -> None:
    """Raise the missing repository's 404 unless the requester may see ``owner/repo``: a public row, or a
    private one with the requester's access remembered, needs nothing; a private one without it is looked
    up with the requester's token. A repository never looked up needs a lookup only when ``unknown``: a
    request about to claim or follow the generation lets that generation's own lookup decide, but one
    about to answer "pending" or a followed failure must know first."""
    known = store.repository_visibility(f"{owner}/{repo}", requester.user_id)
    if known is None and not unknown:
        return
    if known is not None and (not known.is_private or known.access_ok):
        return
    _lookup(requester, owner, repo)  # 404 for a repository this token cannot see; 403/429/5xx fail closed


# A follower of a generation whose repository it has never seen looked up waits for that generation's own
# lookup (its first step: the job's progress reaches LOOKED_UP once the row is stored) rather than asking
# GitHub itself, so followers of a new public repository cost no GitHub request. Once the lookup is done and
# the row is still unknown under the asked name (a renamed repository asked by its old name), or if the
# lookup outlasts UNKNOWN_REPOSITORY_GRACE_SECONDS (GitHub's own timeout), the follower looks the repository
# up with its own token: an outsider of a private repository waits at most for the owner's lookup, never
# for the whole generation.
LOOKED_UP = 3
UNKNOWN_REPOSITORY_GRACE_SECONDS = 10.0


class _VisibilityGate:
    """``while_following`` of a miss: before (and while) following another request's generation, the
    follower's own access is established — at once for a repository known to be private, once the
    generation's lookup is done for one not yet known. Settled once: a public repository, or the
    follower's access shown."""

    def __init__(self, requester: Requester, owner: str, repo: str) -> None:
        self.requester, self.owner, self.repo = requester, owner, repo
        self.settled = False

    def __call__(self, waited: float, job_id: uuid.UUID) -> None:
        if self.settled:
            return
        name = f"{self.owner}/{self.repo}"
        unknown = store.repository_visibility(name, self.requester.user_id) is None
        if unknown and waited < UNKNOWN_REPOSITORY_GRACE_SECONDS and store.job_progress(job_id) < LOOKED_UP:
            return  # the generator is still looking the repository up: its row will tell
        _establish_visibility(self.requester, self.owner, self.repo, unknown=True)
        self.settled = True


def _generator(
    requester: Requester, owner: str, repo: str, window: Window, listener: ProgressListener | None
) -> cache.Generate[Any]:
    def generate(progress: cache.Progress) -> cache.Generated[Any]:
        from oss_tldr.reports.content import build_report_content  # the cold path only
        from oss_tldr.reports.summarise import get_summariser

        def report(pct: int, message: str) -> None:
            progress(pct, message)
            if listener is not None:
                listener(pct, message)

        report(1, "Looking the repository up on GitHub")
        github = github_client(requester.token())
        repository_id, payload = _lookup(requester, owner, repo, github)
        report(LOOKED_UP, "Repository found")  # followers waiting for its row may read it now
        content = build_report_content(
            payload, window, github=github, summariser=get_summariser(), progress=report
        )
        return cache.Generated(repository_id, content)

    return generate


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _seconds_to_utc_midnight() -> int:
    now = dt.datetime.now(dt.UTC)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return max(1, int((midnight - now).total_seconds()))


class _ForceQuota:
    """A forced regeneration counts against the user's daily quota (429 when used up) — only for the
    request that actually regenerates: forced requests that follow a generation already running (the
    SPA's other sections) pay nothing, and a count is given back when its request fails."""

    def __init__(self, user_id: int | None) -> None:
        self.user_id, self.day = user_id, _today()
        self.counted = 0

    def take(self) -> None:
        if self.user_id is None:
            return  # the CLI / background service is not quota-bound
        if not store.consume_force(self.user_id, self.day, get_settings().force_daily_quota):
            raise RateLimited(
                "Daily rate limit for forced regenerations reached; cached reports are still served.",
                retry_after=_seconds_to_utc_midnight(),
                code="force_quota_exceeded",
            )
        self.counted += 1

    def give_back(self) -> None:
        if self.user_id is not None and self.counted:
            store.refund_force(self.user_id, self.day)
            self.counted -= 1


def _obtain(
    requester: Requester,
    owner: str,
    repo: str,
    window: Window,
    *,
    force: bool,
    deadline: float,
    listener: ProgressListener | None = None,
) -> tuple[int, bool, uuid.UUID | None]:
    """A report id for the key after a miss: ``(report_id, generated_here, job_id)``."""
    key = CacheKey(f"{owner}/{repo}", window.timeframe, window.start, window.end)
    _establish_visibility(requester, owner, repo, unknown=False)  # before any lease, wait, job or quota
    quota = _ForceQuota(requester.user_id)
    try:
        outcome = cache.get_or_generate(
            key,
            current_fingerprint(),
            _generator(requester, owner, repo, window, listener),
            expires_at=window.expires_at,
            deadline=deadline,
            requested_by=requester.user_id,
            force=force,
            lease=dt.timedelta(seconds=get_settings().report_lease_seconds),
            before_claim=quota.take if force else None,
            claim_lost=quota.give_back,
            while_following=_VisibilityGate(requester, owner, repo),
        )
    except (cache.GenerationFailed, cache.GenerationPending):
        quota.give_back()
        # What another request's generation is doing is news only to those who may see the repository.
        _establish_visibility(requester, owner, repo, unknown=True)
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
    if section not in store.SECTIONS:
        raise BadRequest("Unknown section: use prs, issues, people or tldr.", code="invalid_section")
    owner, repo, window = validate(owner, repo, timeframe)
    deadline = deadline if deadline is not None else wait_deadline()
    if not force:
        hit = store.find_section(
            f"{owner}/{repo}",
            window.timeframe,
            window.start,
            window.end,
            section,
            current_fingerprint(),
            requester.user_id,
            requester.session_id,
        )
        if hit is not None:
            return _serve_hit(requester, owner, repo, section, hit)
    requester.verify_session()  # before anything a miss writes or asks GitHub
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
    )


def _serve_hit(requester: Requester, owner: str, repo: str, section: str, hit: SectionHit) -> SectionResult:
    if not hit.session_ok:
        requester.verify_session()  # raises 401 with the precise reason
    if hit.is_private and not hit.access_ok:
        _ensure_private_access(requester, owner, repo, hit.repository_id)
        if requester.user_id is not None:
            store.record_access(requester.user_id, hit.report_id)
    _metric("CacheHit", 1)
    return SectionResult(
        section=section,
        body=hit.data,
        cached=True,
        generated_at=hit.generated_at,
        expires_at=hit.expires_at,
        report_id=hit.report_id,
    )


def _load_for(
    requester: Requester, owner: str, repo: str, report_id: int, generated_here: bool
) -> StoredReport:
    """The report after a generation; a waiter checks its own access to a private repository first."""
    report = _served(store.load_report(report_id))
    if report.is_private and not generated_here:
        _ensure_private_access(requester, owner, repo, report.repository_id)
    if requester.user_id is not None:
        store.record_access(requester.user_id, report.id)
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
) -> ReportResult | Pending:
    """The whole report (``POST /reports/generate``, ``make report``): served from the cache, generated
    here, or the shared generation's result; :class:`Pending` when that did not finish in time."""
    owner, repo, window = validate(owner, repo, timeframe)
    deadline = deadline if deadline is not None else wait_deadline()
    fingerprint = current_fingerprint()
    if not force:
        hit = store.find_section(
            f"{owner}/{repo}",
            window.timeframe,
            window.start,
            window.end,
            "tldr",
            fingerprint,
            requester.user_id,
        )
        if hit is not None:
            _serve_hit(requester, owner, repo, "tldr", hit)
            return ReportResult(report=_served(store.load_report(hit.report_id)), cached=True, job_id=None)
    _metric("CacheMiss", 1)
    try:
        report_id, generated_here, job_id = _obtain(
            requester, owner, repo, window, force=force, deadline=deadline, listener=listener
        )
    except cache.GenerationPending as pending:
        view = store.job_view(pending.job_id) if pending.job_id else None
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
    report = store.load_report(report_id, viewer=requester.user_id)
    if report is None or (report.owner_user_id is not None and report.owner_user_id != requester.user_id):
        raise NotFound("Report not found.", code="not_found")
    if report.is_private and not report.viewer_seen:
        # An id the caller has no record of seeing: the missing id's 404, at its cost (no GitHub call),
        # so private ids cannot be told from missing ones by status or by timing.
        raise NotFound("Report not found.", code="not_found")
    if report.is_private:
        owner, _, name = report.repo.partition("/")
        try:
            _ensure_private_access(requester, owner, name, report.repository_id)
        except NotFound as exc:
            raise NotFound("Report not found.", code="not_found") from exc
    if requester.user_id is not None:
        store.record_access(requester.user_id, report.id)
    return report


def job_status(requester: Requester, job_id: str) -> store.JobView:
    """A job, for a requester who may see its report (the one who asked, a public repository, or a private
    one with the requester's access shown); anyone else gets the unknown job's 404. No GitHub call."""
    try:
        parsed = uuid.UUID(job_id)
    except (ValueError, TypeError) as exc:
        raise NotFound("Job not found.", code="not_found") from exc
    view = store.job_view(parsed, visible_to=requester.user_id)
    if view is None:
        raise NotFound("Job not found.", code="not_found")
    return view


# --------------------------------------------------------------------------------- listings and admin
MAX_PAGE = 100
MAX_REPORT_ID = PG_INTEGER_MAX  # reports.id is a Postgres integer: a larger id is bad input, not a query
MAX_ACCESS_ID = PG_BIGINT_MAX  # user_report_access.id is a bigint (the keyset of the caller's history)


def _page(
    rows: list[store.SummaryRow], after: tuple[dt.datetime, int] | None
) -> tuple[list[store.SummaryRow], str | None]:
    return rows, store.encode_cursor(*after) if after is not None else None


def my_reports(user_id: int, *, limit: int, cursor: str | None) -> tuple[list[store.SummaryRow], str | None]:
    """The reports ``user_id`` opened, newest first, one keyset page."""
    after = store.decode_cursor(cursor, max_id=MAX_ACCESS_ID) if cursor else None
    return _page(*store.list_user_reports(user_id, limit=limit, after=after))


def all_reports(
    *, repo: str | None, timeframe: str | None, limit: int, cursor: str | None
) -> tuple[list[store.SummaryRow], str | None]:
    """Every cached report (admin), optionally of one repository and timeframe, newest first."""
    full_name = _repo_name(repo) if repo else None
    if timeframe is not None and not is_timeframe(timeframe):
        raise BadRequest(f"Unknown timeframe: use one of {', '.join(TIMEFRAMES)}.", code="invalid_timeframe")
    after = store.decode_cursor(cursor, max_id=MAX_REPORT_ID) if cursor else None
    return _page(*store.list_reports(full_name=full_name, timeframe=timeframe, limit=limit, after=after))


def _repo_name(ref: str) -> str:
    owner, name = parse_repo_ref(ref)
    return f"{owner}/{name}".lower()


def invalidate_report(actor_user_id: int, report_id: int) -> int:
    if not store.invalidate_report(report_id, actor_user_id=actor_user_id):
        raise NotFound("Report not found.", code="not_found")
    return 1


def invalidate_repository(actor_user_id: int, repo: str) -> int:
    return store.invalidate_repository(_repo_name(repo), actor_user_id=actor_user_id)
