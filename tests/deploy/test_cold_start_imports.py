"""What a cold start serving a hit imports (issue 13, docs/performance.md): the request each API function's
cold-start bench serves (bench/coldstart.py), answered in a fresh interpreter as the Lambda runtime would,
loads neither SQLAlchemy's ORM, the OpenAI SDK, httpx nor the GitHub client; the miss paths load them when
they need them. The interpreter's collector is left enabled by the import (the entry point freezes what the
import built), and SnapStart's before-snapshot hook then imports every module the function primes (a name
that does not import would fail only in AWS, at the snapshot).

Structural, not timed: the figures are make bench's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import cold_start
from sqlalchemy import text

from bench import coldstart

ROOT = Path(__file__).resolve().parents[2]


def _stored_report(engine, full_name: str, *, expires_at: dt.datetime | None = None) -> None:
    from oss_tldr.reports.service import current_fingerprint
    from oss_tldr.windows import window_for

    owner, name = full_name.split("/")
    window, fingerprint = window_for("last_week"), current_fingerprint()
    if expires_at is None:
        expires_at = max(window.expires_at, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    with engine.begin() as conn:
        repo_id = conn.execute(
            text(
                "INSERT INTO repositories (full_name, owner, name, html_url) "
                "VALUES (:f, :o, :n, :u) RETURNING id"
            ),
            {"f": full_name, "o": owner, "n": name, "u": f"https://github.com/{full_name}"},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO reports (repository_id, timeframe, timeframe_start, timeframe_end, tldr_text, "
                "prs, issues, people, expires_at, version, summariser, prompt_version) VALUES (:r, "
                "'last_week', :s, :e, 'A quiet week.', '[]', '[]', '[]', :x, 2, :summariser, :prompt)"
            ),
            {
                "r": repo_id,
                "s": window.start,
                "e": window.end,
                "x": expires_at,
                "summariser": fingerprint.summariser,
                "prompt": fingerprint.prompt_version,
            },
        )


def _running_refresh(engine, full_name: str) -> None:
    """A live lease of the current key: its one refresh runs (the stale hit queues nothing)."""
    from oss_tldr.windows import window_for

    window = window_for("last_week")
    key = {"repo": full_name.lower(), "tf": "last_week", "s": window.start, "e": window.end}
    with engine.begin() as conn:
        job_id = conn.execute(
            text(
                "INSERT INTO report_jobs (id, repo, timeframe, timeframe_start, timeframe_end, status) "
                "VALUES (gen_random_uuid(), :repo, :tf, :s, :e, 'in_progress') RETURNING id"
            ),
            key,
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO report_generations (repo, timeframe, timeframe_start, timeframe_end, job_id, "
                "lease_expires_at) VALUES (:repo, :tf, :s, :e, :job, now() + interval '5 minutes')"
            ),
            {**key, "job": job_id},
        )


@pytest.mark.parametrize(
    "logical_id",
    [
        "HealthFunction",
        "AuthFunction",
        "ReposFunction",
        "ReportsFunction",
        "WebhooksFunction",
        "DeepDiveFunction",
    ],
)
def test_a_cold_hit_loads_no_miss_path_module_and_the_snapshot_primes_them(
    logical_id, engine, database_url, make_user
):
    user = make_user(id=7001, login="cold")
    _stored_report(engine, "bench-org/repo-0000")
    section = coldstart.section_event(user.token, "bench-org/repo-0000", "prs")
    found = {
        fid: (directory, make, status)
        for fid, directory, make, status in coldstart.functions(user.token, section)
    }
    directory, make, status = found[logical_id]
    result = cold_start(directory, make(), status)
    assert result["sqlalchemy_orm"] is False
    assert result["openai"] is False
    assert result["httpx"] is False and result["github_client"] is False
    assert result["gc_enabled"] is True
    assert result["primed"] == result["declared"] and result["primed_loaded"] is True


def test_a_cold_stale_hit_whose_refresh_runs_loads_neither_the_orm_nor_the_openai_sdk(
    engine, database_url, make_user
):
    """Stale-while-revalidate (a report queue configured): a report past its expiry is served stale, and
    when its one refresh already runs (a live lease) the hit queues nothing, so it loads the ORM no more
    than a live hit (queueing a refresh imports the leases' and jobs' modules when it happens)."""
    user = make_user(id=7002, login="stale")
    _stored_report(
        engine, "bench-org/repo-0001", expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    )
    _running_refresh(engine, "bench-org/repo-0001")
    event = coldstart.section_event(user.token, "bench-org/repo-0001", "prs")
    queue = "https://sqs.us-east-1.amazonaws.com/000000000000/reports"
    result = cold_start("functions/reports", event, 200, REPORT_QUEUE_URL=queue)
    assert result["sqlalchemy_orm"] is False
    assert result["openai"] is False
