"""The scheduled warming (``WarmingFunction``, two minutes past every hour): regenerates the popular
reports that expired, so the first user after an expiry does not wait for a generation.

A run (docs/operations.md, "Scheduled warming"):

1. reads the service token (``GITHUB_TOKEN``; in AWS the secret behind ``GITHUB_TOKEN_ARN``) — never a
   user's. Without one everything is skipped (``no_token``) and GitHub is not asked;
2. picks the ``WARMING_MAX_REPOSITORIES`` most popular **public** repositories and their timeframes
   (:mod:`oss_tldr.maintenance.popularity`); a private one (``repositories.is_private``) is listed as
   skipped (``private``) without any GitHub call and does not count against the limit;
3. for each (repository, timeframe) looks at the current window's report (:mod:`oss_tldr.windows`): none
   that may be served (never generated, expired, invalidated or marked stale by a webhook) → it is
   generated; one cut short of its window's natural expiry that also expires before the next run (a
   report from a partial GitHub answer) → regenerated (``force``); otherwise it is ``fresh`` and left
   alone: a report living to its window's end cannot be improved by regenerating the same window, and the
   run after its expiry (window boundaries are whole UTC hours, the run comes two minutes later) warms
   the next window;
4. generates through the user requests' own single flight
   (:func:`oss_tldr.reports.service.generate_report` with :meth:`Requester.service`): a report another
   run or request is generating is followed, never generated twice;
5. within a per-run budget: ``WARMING_MAX_GITHUB_POINTS`` GraphQL points and ``WARMING_MAX_LLM_REQUESTS``
   chat completions. What each generation spent is metered where it is spent (:mod:`oss_tldr.usage`);
   a generation is started only if the largest one measured in this run (before any:
   :data:`DEFAULT_GITHUB_POINTS`, and the summariser's per-report ceiling
   :data:`~oss_tldr.reports.summarise.base.MAX_LLM_REQUESTS`) still fits, and only if the invocation's
   remaining time (:mod:`oss_tldr.deadline`) still holds the slowest generation measured (at least
   :data:`MIN_GENERATION_SECONDS`); otherwise the rest is skipped with the reason;
6. one repository failing (GitHub 5xx, a malformed answer, a missing repository) is recorded and the run
   goes on; a rate limit or a refused token (429 / 401) stops further generations (``stopped``) — asking
   again would only be refused again.

The result lists every pair with its outcome (``warmed``, ``skipped`` or ``failed``) and reason, the
counts, what the run spent and how long it took; :func:`publish` logs it and emits the metrics.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import single_metric
from sqlalchemy import func, select

from oss_tldr import deadline, usage
from oss_tldr.db.engine import session_scope
from oss_tldr.db.errors import log_exception
from oss_tldr.errors import DomainError
from oss_tldr.maintenance.cleanup import TimeLeft
from oss_tldr.maintenance.popularity import Candidate, current_report, popular_repositories
from oss_tldr.observability import MetricUnit, logger, metrics
from oss_tldr.reports.service import Pending, current_fingerprint, generate_report
from oss_tldr.reports.summarise import MAX_LLM_REQUESTS, summariser_identity
from oss_tldr.reports.summarise.extractive import ExtractiveSummariser
from oss_tldr.reports.visibility import Requester
from oss_tldr.settings import Settings, get_settings
from oss_tldr.windows import window_for

RUN_INTERVAL = dt.timedelta(hours=1)  # the schedule, cron(2 * * * ? *): when the next run comes
# One cold report's GraphQL points before this run has measured one: the activity query's cost under
# GitHub's rule as the fake GitHub applies it (`make bench`, docs/performance.md).
DEFAULT_GITHUB_POINTS = 11
MIN_GENERATION_SECONDS = 30.0  # a generation's GitHub query and two chat completions, at their timeouts
FOLLOW_SECONDS = 30.0  # how long a run waits for another run's (or a request's) generation of a key
STOPPING_STATUSES = (401, 429)  # the service token refused or rate limited: no further generation

WARMED, SKIPPED, FAILED = "warmed", "skipped", "failed"


@dataclass(frozen=True)
class PairResult:
    repo: str
    timeframe: str
    outcome: str  # WARMED, SKIPPED or FAILED
    reason: str  # generated | fresh | followed | pending | private | no_token | github_points_budget |
    # llm_requests_budget | deadline | stopped | the failure's error code
    spent: dict[str, int] = field(default_factory=dict)  # this pair's usage (a generation's cost)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "timeframe": self.timeframe,
            "outcome": self.outcome,
            "reason": self.reason,
            **({"spent": self.spent, "seconds": round(self.seconds, 3)} if self.spent else {}),
        }


@dataclass
class WarmingResult:
    pairs: list[PairResult] = field(default_factory=list)
    spent: usage.Usage = field(default_factory=usage.Usage)
    seconds: float = 0.0
    complete: bool = True  # False: stopped by the budget, the deadline or a rate limit with work left

    def count(self, outcome: str) -> int:
        return sum(1 for pair in self.pairs if pair.outcome == outcome)

    def reasons(self) -> dict[str, dict[str, int]]:
        """outcome -> reason -> pairs (warmed, skipped and failed alike)."""
        found: dict[str, Counter[str]] = {WARMED: Counter(), SKIPPED: Counter(), FAILED: Counter()}
        for pair in self.pairs:
            found[pair.outcome][pair.reason] += 1
        return {outcome: dict(sorted(counts.items())) for outcome, counts in found.items()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "warmed": self.count(WARMED),
            "skipped": self.count(SKIPPED),
            "failed": self.count(FAILED),
            "reasons": self.reasons(),
            "spent": self.spent.as_dict(),
            "seconds": round(self.seconds, 3),
            "complete": self.complete,
            "pairs": [pair.as_dict() for pair in self.pairs],
        }


class _Budget:
    """What the run may still start: the budget left against the largest generation measured so far."""

    def __init__(self, settings: Settings, spent: usage.Usage, time_left: TimeLeft) -> None:
        self.settings, self.spent, self.time_left = settings, spent, time_left
        extractive = summariser_identity(settings)[0] == ExtractiveSummariser.name
        self.points, self.llm = DEFAULT_GITHUB_POINTS, 0 if extractive else MAX_LLM_REQUESTS
        self.seconds = MIN_GENERATION_SECONDS
        self.generations = 0  # measured in this run

    def refusal(self) -> str | None:
        """Why the next generation must not start (None: it may)."""
        left = self.time_left()
        if left is not None and left < self.seconds:
            return "deadline"
        if self.spent.github_points + self.points > self.settings.warming_max_github_points:
            return "github_points_budget"
        if self.spent.llm_requests + self.llm > self.settings.warming_max_llm_requests:
            return "llm_requests_budget"
        return None

    def measured(self, generation: usage.Usage, seconds: float) -> None:
        """After a pair: a generation that ran here (a follower's wait measures nothing) replaces the
        defaults, then raises the estimates to the largest one seen."""
        if not generation.github_requests:
            return
        first = self.generations == 0
        self.generations += 1
        self.points = generation.github_points if first else max(self.points, generation.github_points)
        self.llm = generation.llm_requests if first else max(self.llm, generation.llm_requests)
        self.seconds = max(self.seconds, seconds)


def _db_now() -> dt.datetime:
    with session_scope() as session:
        now: dt.datetime = session.execute(select(func.now())).scalar_one()
    return now


class _Run:
    def __init__(self, settings: Settings, time_left: TimeLeft) -> None:
        self.settings, self.result = settings, WarmingResult()
        self.budget = _Budget(settings, self.result.spent, time_left)
        self.requester = Requester.service(settings)
        self.fingerprint = current_fingerprint(settings)
        self.stopped: str | None = None  # why no further generation starts

    def skip(self, candidate: Candidate, timeframe: str, reason: str) -> None:
        self.result.pairs.append(PairResult(candidate.full_name, timeframe, SKIPPED, reason))

    def pair(self, candidate: Candidate, timeframe: str, now: dt.datetime) -> None:
        window = window_for(timeframe, now)
        current = current_report(candidate.repository_id, window, self.fingerprint)
        cut_short = False
        if current is not None:
            expires_at = current.expires_at
            cut_short = expires_at is not None and expires_at < min(now + RUN_INTERVAL, window.expires_at)
            if not cut_short:
                return self.skip(candidate, timeframe, "fresh")
        refusal = self.stopped or self.budget.refusal()
        if refusal is not None:
            self.result.complete = False
            return self.skip(candidate, timeframe, refusal)
        self.generate(candidate, timeframe, force=cut_short)

    def generate(self, candidate: Candidate, timeframe: str, *, force: bool) -> None:
        owner, _, name = candidate.full_name.partition("/")
        started = time.monotonic()
        outcome, reason = FAILED, "internal_error"
        with usage.metered() as spent:
            try:
                answer = generate_report(
                    self.requester,
                    owner,
                    name,
                    timeframe,
                    force=force,
                    deadline=deadline.wait_until(started + FOLLOW_SECONDS),
                )
            except DomainError as exc:
                reason = exc.code
                logger.warning(
                    "warming generation failed",
                    extra={"repo": candidate.full_name, "timeframe": timeframe, "code": exc.code},
                )
                if exc.status in STOPPING_STATUSES:
                    self.stopped = "stopped"
            except Exception as exc:  # one repository's bug must not stop the others
                log_exception("warming generation failed", exc, repo=candidate.full_name, timeframe=timeframe)
            else:
                outcome, reason = self._classify(answer, spent)
        seconds = time.monotonic() - started
        self.result.spent.add(spent)
        self.budget.measured(spent, seconds)
        self.result.pairs.append(
            PairResult(candidate.full_name, timeframe, outcome, reason, spent.as_dict(), seconds)
        )

    @staticmethod
    def _classify(answer: Any, spent: usage.Usage) -> tuple[str, str]:
        if isinstance(answer, Pending):
            return SKIPPED, "pending"  # another generation of the key outlasted FOLLOW_SECONDS: it goes on
        if answer.cached:
            return SKIPPED, "fresh"  # generated by someone else since this run looked
        if spent.github_requests:
            return WARMED, "generated"
        return SKIPPED, "followed"  # another run's or request's generation, followed to its end


def run_warming(
    *, settings: Settings | None = None, time_left: TimeLeft = deadline.remaining
) -> WarmingResult:
    """Warm the popular reports that need it, within the budget and the time left (module docstring)."""
    settings = settings or get_settings()
    started = time.monotonic()
    run = _Run(settings, time_left)
    now = _db_now()
    since = now - dt.timedelta(days=settings.warming_lookback_days)
    candidates = popular_repositories(2 * settings.warming_max_repositories, since)
    token = run.requester.token() if candidates else None  # no Secrets Manager call for nothing
    public = 0
    for candidate in candidates:
        if not candidate.is_private and public == settings.warming_max_repositories:
            break
        public += not candidate.is_private
        for timeframe in candidate.timeframes:
            if candidate.is_private:
                run.skip(candidate, timeframe, "private")
            elif not token:
                run.skip(candidate, timeframe, "no_token")
            else:
                run.pair(candidate, timeframe, now)
    if not token and public:
        run.result.complete = False
    run.result.seconds = time.monotonic() - started
    return run.result


def publish(result: WarmingResult) -> None:
    """One log line with the whole result; ``WarmingPairs`` per outcome and reason (dimensions
    ``outcome``, ``reason``: each its own EMF record), ``WarmingGitHubPoints``, ``WarmingGitHubRequests``,
    ``WarmingLLMRequests``, ``WarmingSeconds`` and ``WarmingIncomplete`` through the function's metrics."""
    logger.info("warming finished", extra={"warming": result.as_dict()})
    for outcome, reasons in result.reasons().items():
        for reason, count in reasons.items():
            with single_metric(
                name="WarmingPairs",
                unit=MetricUnit.Count,
                value=count,
                namespace=metrics.namespace,
                default_dimensions={
                    "service": metrics.service or "oss-tldr",
                    "outcome": outcome,
                    "reason": reason,
                },
            ):
                pass
    metrics.add_metric(name="WarmingGitHubPoints", unit=MetricUnit.Count, value=result.spent.github_points)
    metrics.add_metric(
        name="WarmingGitHubRequests", unit=MetricUnit.Count, value=result.spent.github_requests
    )
    metrics.add_metric(name="WarmingLLMRequests", unit=MetricUnit.Count, value=result.spent.llm_requests)
    metrics.add_metric(name="WarmingSeconds", unit=MetricUnit.Seconds, value=result.seconds)
    metrics.add_metric(name="WarmingIncomplete", unit=MetricUnit.Count, value=0 if result.complete else 1)
