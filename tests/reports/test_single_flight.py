"""The single-flight cache on a real Postgres, with an injected generator (no GitHub, no OpenAI)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fixtures_reports import StubPayload
from sqlalchemy import func, select, update

from oss_tldr.db import session_scope
from oss_tldr.db.models import Report, ReportGeneration, ReportJob
from oss_tldr.errors import RateLimited
from oss_tldr.reports import jobs, records
from oss_tldr.reports.cache import Generated, GenerationFailed, GenerationPending, get_or_generate
from oss_tldr.reports.models import Fingerprint

FP = Fingerprint("extractive", "test-1")
EXPIRES = dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)


class CountingGenerator:
    """Stands in for GitHub + summaries: counts its calls, returns a fixed payload."""

    def __init__(self, repository_id: int, payload: StubPayload | None = None) -> None:
        self.calls = 0
        self.repository_id = repository_id
        self.payload = payload or StubPayload()
        self.lock = threading.Lock()

    def __call__(self, progress):
        with self.lock:
            self.calls += 1
        progress(50, "half way")
        return Generated(self.repository_id, self.payload)


def _run(key, generate, **kwargs):
    kwargs.setdefault("deadline", time.monotonic() + 30)
    return get_or_generate(key, FP, generate, expires_at=EXPIRES, **kwargs)


def _count(db, model):
    return db.scalar(select(func.count()).select_from(model))


def test_first_call_generates_and_second_call_reuses_the_report(repository_row, cache_key, db):
    repo_id, key = repository_row(), cache_key()
    generate = CountingGenerator(repo_id)
    first = _run(key, generate)
    second = _run(key, generate)
    assert generate.calls == 1
    assert first.generated_here and not second.generated_here
    assert first.report_id == second.report_id
    report = db.get(Report, first.report_id)
    assert (report.summariser, report.prompt_version, report.tldr_text) == (
        "extractive",
        "test-1",
        StubPayload().tldr,
    )
    assert _count(db, ReportGeneration) == 0  # the lease is released
    job = db.get(ReportJob, first.job_id)
    assert (job.status, job.progress, job.report_id) == ("completed", 100, first.report_id)


def test_concurrent_callers_share_exactly_one_generation(repository_row, cache_key, db):
    repo_id, key = repository_row(), cache_key()
    waiting = threading.Semaphore(0)
    release = threading.Event()

    class SlowGenerator(CountingGenerator):
        def __call__(self, progress):
            release.wait(10)
            return super().__call__(progress)

    def sleep(seconds):
        waiting.release()
        time.sleep(seconds)

    generate = SlowGenerator(repo_id)
    callers = 24
    with ThreadPoolExecutor(callers) as pool:
        futures = [pool.submit(_run, key, generate, sleep=sleep) for _ in range(callers)]
        for _ in range(callers - 1):  # every caller but the generator is waiting on the lease
            assert waiting.acquire(timeout=10)
        release.set()
        outcomes = [f.result(timeout=30) for f in futures]
    assert generate.calls == 1
    assert len({o.report_id for o in outcomes}) == 1
    assert sum(o.generated_here for o in outcomes) == 1
    assert _count(db, Report) == 1
    assert _count(db, ReportJob) == 1  # losing claims left no job rows behind


def test_failed_generation_caches_nothing_and_its_waiters_get_the_same_error(repository_row, cache_key, db):
    repo_id, key = repository_row(), cache_key()
    waiting = threading.Semaphore(0)

    def failing(progress):
        assert waiting.acquire(timeout=10)  # a waiter follows this generation
        raise RateLimited("GitHub rate limit reached; try again later.", retry_after=30)

    def sleep(seconds):
        waiting.release()
        time.sleep(seconds)

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(_run, key, failing, sleep=sleep)
        second = pool.submit(_run, key, failing, sleep=sleep)
        errors = []
        for future in (first, second):
            with pytest.raises((RateLimited, GenerationFailed)) as caught:
                future.result(timeout=30)
            errors.append(caught.value)
    assert sorted(e.status for e in errors) == [429, 429]
    assert all("rate limit" in e.detail for e in errors)
    assert any(isinstance(e, GenerationFailed) and e.headers() == {"Retry-After": "30"} for e in errors)
    assert _count(db, Report) == 0
    assert _count(db, ReportGeneration) == 0
    job = db.scalars(select(ReportJob)).one()
    assert (job.status, job.error_status, job.error_code) == ("failed", 429, "rate_limited")
    # The next request may try again, and succeeds.
    generate = CountingGenerator(repo_id)
    assert _run(key, generate).generated_here
    assert generate.calls == 1


def test_unexpected_generator_error_is_recorded_as_a_safe_upstream_error(repository_row, cache_key, db):
    key = cache_key()

    def broken(progress):
        raise RuntimeError("secret internals: gho_fake_token")

    with pytest.raises(Exception) as caught:
        _run(key, broken)
    assert caught.value.status == 502
    job = db.scalars(select(ReportJob)).one()
    assert job.status == "failed" and "gho_fake" not in (job.error or "")
    assert _count(db, Report) == 0


def test_crashed_generators_lease_expires_and_the_next_caller_regenerates(repository_row, cache_key, db):
    repo_id, key = repository_row(), cache_key()
    crashed_job = jobs.claim(key, lease=dt.timedelta(seconds=90), requested_by=None, force=False)
    assert crashed_job is not None
    # While the lease is live, a caller waits and gives up at its deadline.
    with pytest.raises(GenerationPending) as pending:
        _run(key, CountingGenerator(repo_id), deadline=time.monotonic() + 0.2)
    assert pending.value.job_id == crashed_job
    # The generator never comes back: its lease runs out.
    db.execute(update(ReportGeneration).values(lease_expires_at=func.now() - dt.timedelta(seconds=1)))
    db.commit()
    generate = CountingGenerator(repo_id)
    outcome = _run(key, generate)
    assert generate.calls == 1 and outcome.generated_here
    assert db.get(ReportJob, crashed_job).status == "failed"
    assert _count(db, ReportGeneration) == 0


def test_progress_is_recorded_and_renews_the_lease(repository_row, cache_key, db):
    repo_id, key = repository_row(), cache_key()
    seen = {}

    def generate(progress):
        with session_scope() as session:
            before = session.scalar(select(ReportGeneration.lease_expires_at))
        progress(40, "fetching")
        with session_scope() as session:
            job = session.scalars(select(ReportJob)).one()
            seen["job"] = (job.status, job.progress, job.message)
            seen["renewed"] = session.scalar(select(ReportGeneration.lease_expires_at)) > before
        return Generated(repo_id, StubPayload())

    _run(key, generate)
    assert seen == {"job": ("in_progress", 40, "fetching"), "renewed": True}


def test_report_by_another_summariser_is_a_miss_and_is_replaced_in_place(repository_row, cache_key, db):
    repo_id, key = repository_row(), cache_key()
    old = _run(key, CountingGenerator(repo_id, StubPayload(summariser="openai:gpt-4o-mini", tldr="old")))
    generate = CountingGenerator(repo_id, StubPayload(tldr="new"))
    new = _run(key, generate)
    assert generate.calls == 1
    assert new.report_id == old.report_id  # same row, so access history stays attached
    db.expire_all()
    assert db.get(Report, new.report_id).tldr_text == "new"


def test_force_regenerates_an_existing_report(repository_row, cache_key, db):
    repo_id, key = repository_row(), cache_key()
    _run(key, CountingGenerator(repo_id, StubPayload(tldr="first")))
    generate = CountingGenerator(repo_id, StubPayload(tldr="second"))
    outcome = _run(key, generate, force=True)
    assert generate.calls == 1 and outcome.generated_here
    assert db.get(Report, outcome.report_id).tldr_text == "second"
    assert _count(db, Report) == 1


def test_waiter_of_a_not_found_generation_tries_with_its_own_token(repository_row, cache_key, db):
    from oss_tldr.errors import NotFound

    repo_id, key = repository_row(), cache_key()
    waiting = threading.Semaphore(0)
    calls = []

    def generate(progress):
        calls.append(1)
        if len(calls) == 1:
            assert waiting.acquire(timeout=10)
            raise NotFound("Repository not found.")
        return Generated(repo_id, StubPayload())

    def sleep(seconds):
        waiting.release()
        time.sleep(seconds)

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(_run, key, generate, sleep=sleep) for _ in range(2)]
        results = []
        for future in futures:
            try:
                results.append(future.result(timeout=30))
            except NotFound as exc:
                results.append(exc)
    assert len(calls) == 2
    assert sum(isinstance(r, NotFound) for r in results) == 1
    assert _count(db, Report) == 1


def test_only_the_caller_that_generates_pays_before_claiming(repository_row, cache_key, db):
    repo_id, key = repository_row(), cache_key()
    waiting = threading.Semaphore(0)
    release = threading.Event()
    paid = []
    lock = threading.Lock()

    def pay():
        with lock:
            paid.append(1)

    def refund():
        with lock:
            paid.pop()

    class SlowGenerator(CountingGenerator):
        def __call__(self, progress):
            release.wait(10)
            return super().__call__(progress)

    def sleep(seconds):
        waiting.release()
        time.sleep(seconds)

    generate = SlowGenerator(repo_id)
    with ThreadPoolExecutor(6) as pool:
        futures = [
            pool.submit(_run, key, generate, sleep=sleep, before_claim=pay, claim_lost=refund)
            for _ in range(6)
        ]
        for _ in range(5):
            assert waiting.acquire(timeout=10)
        release.set()
        for future in futures:
            future.result(timeout=30)
    assert generate.calls == 1
    assert paid == [1]


def test_a_generation_finishing_between_poll_and_claim_is_served_not_repeated(repository_row, cache_key, db):
    """The race behind a rare second generation: another request's generator commits its report (and
    releases its lease) after this caller polled and before it claims."""
    repo_id, key = repository_row(), cache_key()
    other = CountingGenerator(repo_id)

    def another_request_finishes_first():
        assert _run(key, other).generated_here

    mine = CountingGenerator(repo_id)
    outcome = _run(key, mine, before_claim=another_request_finishes_first)
    assert (other.calls, mine.calls) == (1, 0)
    assert not outcome.generated_here
    assert _count(db, Report) == 1 and _count(db, ReportJob) == 1 and _count(db, ReportGeneration) == 0


def test_claim_backs_off_when_a_usable_report_exists(repository_row, cache_key, db):
    repo_id, key = repository_row(), cache_key()
    assert _run(key, CountingGenerator(repo_id)).generated_here
    lease = dt.timedelta(seconds=90)
    assert jobs.claim(key, lease=lease, requested_by=None, force=False, fingerprint=FP) is None
    assert _count(db, ReportJob) == 1 and _count(db, ReportGeneration) == 0
    # A forced regeneration wants a report newer than the current one: that claim goes through.
    current = records.current_generated_at(key)
    forced = jobs.claim(key, lease=lease, requested_by=None, force=True, fingerprint=FP, newer_than=current)
    assert forced is not None


def test_a_generation_refused_by_its_callers_token_leaves_no_job_and_its_follower_tries_its_own(
    repository_row, cache_key, db
):
    from oss_tldr.errors import Forbidden

    repo_id, key = repository_row(), cache_key()
    waiting = threading.Semaphore(0)
    calls = []

    def generate(progress):
        calls.append(1)
        if len(calls) == 1:
            assert waiting.acquire(timeout=10)  # a follower is polling this generation
            raise Forbidden("Resource not accessible by this token.", code="github_forbidden")
        return Generated(repo_id, StubPayload())

    def sleep(seconds):
        waiting.release()
        time.sleep(seconds)

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(_run, key, generate, sleep=sleep) for _ in range(2)]
        results = []
        for future in futures:
            try:
                results.append(future.result(timeout=30))
            except Forbidden as exc:
                results.append(exc)
    assert len(calls) == 2 and sum(isinstance(r, Forbidden) for r in results) == 1
    # The refused generation's job is gone with its lease; only the follower's own generation remains.
    assert db.scalars(select(ReportJob.status)).all() == ["completed"]
    assert _count(db, ReportGeneration) == 0 and _count(db, Report) == 1
