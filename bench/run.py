"""``make bench``: the report cache's figures, written to ``bench/results/*.json`` and docs/performance.md.

On a database holding 10,000 reports over 1,000 repositories (its own database ``oss_tldr_bench`` on the
local embedded Postgres, or ``BENCH_DATABASE_URL``), with the fake GitHub and fake OpenAI of the test suite
(served over HTTP, counting requests), it measures:

* cache-hit latency of the section handler in-process (p50/p99 over ``--calls`` calls, the real event
  shape, authentication included) and of the bare indexed SELECT of the same row, in the same run;
* GitHub and LLM requests of one cold report; LLM item summaries redone by ``last_week`` right after
  ``last_month`` on the same activity;
* cold start of every API function in a fresh process (import + first request) against
  ``python -c "import boto3"``, in interleaved pairs (bench/coldstart.py; ``--only-cold-start`` alone);
* the scheduled cleanup (``--cleanup-rows``, 100,000) on as many expired reports among as many live ones,
  in its bounded batches (``--only-cleanup`` measures it alone);
* the scheduled warming's cost per warmed report (``--warming-repositories``, 20; ``--only-warming``
  measures it alone): bench/warming.py.

Not a test: nothing here asserts; the goals are printed next to the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import coldstart
from bench.warming import measure_warming
from bench.warming import row as warming_row

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"
REPOSITORIES, REPORTS_PER_REPOSITORY = 1_000, 10
HIT_REPO = "bench-org/repo-0500"
USER_ID, USER_LOGIN = 424242, "bench-user"
BENCH_GITHUB_TOKEN = "gho_fake_bench_user"  # noqa: S105 - a token only the fake GitHub knows


def _prepare_environment() -> tuple[Any, Any]:
    """Fakes up, env pointed at them and at the bench database; before any settings are read."""
    from tools.fakes.github import FakeGitHub
    from tools.fakes.openai import FakeOpenAI

    github, openai = FakeGitHub.start(), FakeOpenAI.start()
    github.add_user(USER_LOGIN, BENCH_GITHUB_TOKEN, id=USER_ID)
    os.environ.update(
        {
            "GITHUB_API_URL": github.url,
            "GITHUB_WEB_URL": github.url,
            "OPENAI_API_KEY": "sk-fake-bench",
            "OPENAI_BASE_URL": openai.url,
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
    )
    from oss_tldr.settings import Settings, reset_settings_cache

    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        from oss_tldr.db.local import ensure_database, start_embedded_server

        state = Settings.from_env().local_state_dir
        url = ensure_database(start_embedded_server(state / "pgdata"), "oss_tldr_bench")
    os.environ["DATABASE_URL"] = url
    os.environ.pop("GITHUB_TOKEN", None)
    reset_settings_cache()
    from oss_tldr.db import engine as db_engine
    from oss_tldr.db import migrate

    db_engine.reset_engine()
    migrate.upgrade(db_engine.get_engine())
    return github, openai


def _payload() -> dict[str, str]:
    def item(n: int, pr: bool) -> dict[str, Any]:
        login = ["alice", "bob", "carol", "dave", "erin"][n % 5]
        return {
            "id": f"I_{n}",
            "number": n,
            "title": f"{'Improve' if pr else 'Crash in'} the module number {n} under heavy load",
            "state": "closed" if pr else "open",
            "summary": " ".join(["A realistic fifty word summary of the change and its discussion."] * 5),
            "html_url": f"https://github.com/bench-org/repo/{'pull' if pr else 'issues'}/{n}",
            "created_at": "2026-11-15T10:00:00Z",
            "updated_at": "2026-11-20T10:00:00Z",
            "comments": n % 17,
            "reactions": n % 7,
            "labels": ["bug", "performance"],
            "user": {
                "login": login,
                "avatar_url": "https://avatars.githubusercontent.com/u/1?v=4",
                "profile_url": f"https://github.com/{login}",
            },
            "assignees": [],
            "is_pull_request": pr,
            "merged": pr,
            "author_association": "MEMBER",
        }

    prs = [item(n, True) for n in range(1, 11)]
    issues = [item(n, False) for n in range(11, 21)]
    people = [
        {
            "username": login,
            "avatar_url": "https://avatars.githubusercontent.com/u/1?v=4",
            "profile_url": f"https://github.com/{login}",
            "tldr": "Shipped two pull requests and triaged issues this week, mostly around performance.",
            "prs": prs[k : k + 2],
            "issues": issues[k : k + 2],
            "total_items": 4,
        }
        for k, login in enumerate(["alice", "bob", "carol", "dave", "erin"])
    ]
    return {"prs": json.dumps(prs), "issues": json.dumps(issues), "people": json.dumps(people)}


def _avoid_window_rollover(margin: dt.timedelta = dt.timedelta(minutes=3)) -> None:
    """The seeded rows are the current windows' keys: do not start right before a new window begins."""
    from oss_tldr.windows import window_for

    now = dt.datetime.now(dt.UTC)
    current = window_for("last_week", now)
    if window_for("last_week", now + margin) != current:
        wait = (current.expires_at - now).total_seconds() + 1
        print(f"a new last_week window starts in {wait:.0f} s; waiting for it ...", file=sys.stderr)
        time.sleep(wait)


def seed_database() -> dict[str, Any]:
    """10,000 reports over 1,000 repositories, in a few set-based statements."""
    from sqlalchemy import text

    from oss_tldr.db import get_engine
    from oss_tldr.identity.sessions import create_session
    from oss_tldr.reports.service import current_fingerprint
    from oss_tldr.windows import REFRESH, window_for

    started = time.perf_counter()
    fingerprint = current_fingerprint()
    windows = [window_for(tf) for tf in ("last_day", "last_week", "last_month", "last_year")]
    day = window_for("last_day")
    windows += [  # earlier last_day windows (the kind of history a real cache holds)
        type(day)("last_day", day.start - REFRESH["last_day"] * k, day.end - REFRESH["last_day"] * k)
        for k in range(1, REPORTS_PER_REPOSITORY - 3)
    ]
    payload = _payload()
    with get_engine().begin() as conn:
        conn.execute(text("TRUNCATE repositories, users RESTART IDENTITY CASCADE"))
        conn.execute(
            text(
                "INSERT INTO repositories (full_name, owner, name, html_url, stargazers_count) "
                "SELECT 'bench-org/repo-' || lpad(g::text, 4, '0'), 'bench-org', "
                "'repo-' || lpad(g::text, 4, '0'), "
                "'https://github.com/bench-org/repo-' || lpad(g::text, 4, '0'), g "
                "FROM generate_series(0, :last) AS g"
            ),
            {"last": REPOSITORIES - 1},
        )
        for window in windows:
            conn.execute(
                text(
                    "INSERT INTO reports (repository_id, timeframe, timeframe_start, timeframe_end, "
                    "tldr_text, prs, issues, people, expires_at, version, summariser, prompt_version) "
                    "SELECT id, :tf, :start, :end, :tldr, CAST(:prs AS jsonb), CAST(:issues AS jsonb), "
                    "CAST(:people AS jsonb), :expires, 2, :summariser, :prompt FROM repositories"
                ),
                {
                    "tf": window.timeframe,
                    "start": window.start,
                    "end": window.end,
                    "tldr": "A busy period: " + "the project shipped and triaged a lot. " * 6,
                    "expires": window.expires_at,
                    "summariser": fingerprint.summariser,
                    "prompt": fingerprint.prompt_version,
                    **payload,
                },
            )
        conn.execute(
            text("INSERT INTO users (id, login) VALUES (:id, :login)"), {"id": USER_ID, "login": USER_LOGIN}
        )
        conn.execute(text("ANALYZE"))
    from oss_tldr.db import session_scope
    from oss_tldr.identity.tokens import save_sealed_token, seal_github_token

    with session_scope() as session:
        # The bench user's GitHub token (the fake GitHub knows it: GraphQL answers no one without a token).
        save_sealed_token(session, USER_ID, seal_github_token(USER_ID, BENCH_GITHUB_TOKEN))
        token = create_session(session, USER_ID).token
    with get_engine().connect() as conn:
        counts = conn.execute(
            text("SELECT (SELECT count(*) FROM repositories), (SELECT count(*) FROM reports)")
        ).one()
    return {
        "repositories": counts[0],
        "reports": counts[1],
        "seconds": round(time.perf_counter() - started, 2),
        "token": token,
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "p50_ms": round(pick(0.50) * 1000, 3),
        "p99_ms": round(pick(0.99) * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def measure_hit_latency(token: str, calls: int) -> dict[str, Any]:
    """The hit as deployed: with a report queue configured its statement has the stale-while-revalidate
    shape (a live report first, else one expired less than a refresh period ago). The hit never sends to
    the queue (only a stale hit does), so a queue URL that leads nowhere measures exactly that."""
    from oss_tldr.settings import reset_settings_cache

    os.environ["REPORT_QUEUE_URL"] = "http://127.0.0.1:9/123456789012/bench-reports"
    reset_settings_cache()
    try:
        return _measure_hit_latency(token, calls)
    finally:
        os.environ.pop("REPORT_QUEUE_URL", None)
        reset_settings_cache()


def _measure_hit_latency(token: str, calls: int) -> dict[str, Any]:
    from sqlalchemy import select

    from oss_tldr.db import get_engine
    from oss_tldr.db.models import Report, Repository
    from oss_tldr.windows import window_for
    from tools.lambda_local import FakeLambdaContext, load_handler

    handler = load_handler("ReportsFunction")
    event = coldstart.section_event(token, HIT_REPO, "prs")
    context = FakeLambdaContext("ReportsFunction")
    window = window_for("last_week")
    bare = (
        select(Report.prs)
        .join(Repository, Repository.id == Report.repository_id)
        .where(
            Repository.full_name == HIT_REPO,
            Report.timeframe == "last_week",
            Report.timeframe_start == window.start,
            Report.timeframe_end == window.end,
        )
    )
    engine = get_engine()

    def hit() -> None:
        response = handler(event, context)
        assert response["statusCode"] == 200 and '"cached":true' in response["body"], response

    def select_row() -> None:
        with engine.connect() as conn:
            assert conn.execute(bare).first() is not None

    for _ in range(100):  # warm both paths (pool, caches)
        hit()
        select_row()
    handler_samples, select_samples = [], []
    for _ in range(calls):  # interleaved, so both see the same machine state
        t0 = time.perf_counter()
        hit()
        t1 = time.perf_counter()
        select_row()
        t2 = time.perf_counter()
        handler_samples.append(t1 - t0)
        select_samples.append(t2 - t1)
    handler_stats, select_stats = _percentiles(handler_samples), _percentiles(select_samples)
    return {
        "calls": calls,
        "handler": handler_stats,
        "bare_select": select_stats,
        "ratio_p50": round(handler_stats["p50_ms"] / select_stats["p50_ms"], 2),
        "ratio_p99": round(handler_stats["p99_ms"] / select_stats["p99_ms"], 2),
        "goal_ratio": 3,
    }


def measure_cold_reports(github: Any, openai: Any, token: str) -> dict[str, Any]:
    from tools.fakes.github_activity import add_item, seed_activity
    from tools.lambda_local import FakeLambdaContext, load_handler

    handler = load_handler("ReportsFunction")
    now = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {}
    runs = []
    for n, (prs, issues) in enumerate(((30, 25), (300, 250), (8, 5))):
        name = f"bench-live/cold-{n}"
        seed_activity(github, name, now=now, prs=prs, issues=issues, seed=n + 1)
        for timeframe in ("last_week", "last_month"):
            github.reset_counts()
            openai.reset_counts()
            points = github.graphql_points.get(BENCH_GITHUB_TOKEN, 5000)
            response = handler(coldstart.section_event(token, name, "prs", timeframe), FakeLambdaContext())
            assert response["statusCode"] == 200, response
            assert not github.graphql_errors, github.graphql_errors
            runs.append(
                {
                    "repo": name,
                    "timeframe": timeframe,
                    "github": github.count(),
                    "graphql_points": points - github.graphql_points[BENCH_GITHUB_TOKEN],
                    "llm": openai.count(),
                }
            )
    results["cold_reports"] = runs
    results["github_requests_max"] = max(r["github"] for r in runs)
    results["graphql_points_max"] = max(r["graphql_points"] for r in runs)
    results["llm_requests_max"] = max(r["llm"] for r in runs)
    results["goal_github"], results["goal_llm"] = 1, 2

    name = "bench-live/overlap"
    for i in range(12):  # active 2-5 days ago: inside both the last_week and the last_month windows
        add_item(
            github,
            name,
            kind="pr" if i < 7 else "issue",
            login=["alice", "bob", "carol"][i % 3],
            comments=i,
            created_at=now - dt.timedelta(days=5) + dt.timedelta(hours=i),
            updated_at=now - dt.timedelta(days=2) + dt.timedelta(hours=i),
        )
    handler(coldstart.section_event(token, name, "prs", "last_month"), FakeLambdaContext())
    openai.reset_counts()
    response = handler(coldstart.section_event(token, name, "prs", "last_week"), FakeLambdaContext())
    assert response["statusCode"] == 200, response
    results["last_week_after_last_month"] = {
        "item_summary_requests": openai.count("item_summaries"),
        "llm_requests": openai.count(),
        "goal_item_summary_requests": 0,
    }
    return results


def _wall(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, done.stdout


CLEANUP_REPOSITORIES = 1_000


def measure_cleanup(rows: int) -> dict[str, Any]:
    """The scheduled cleanup on ``rows`` expired reports among ``rows`` live ones (the bench payload, over
    their own 1,000 repositories), in its bounded batches, with the Lambda's 300 s ahead of it: seconds,
    rows per second, batches, and whether every live report stayed."""
    from sqlalchemy import text

    from oss_tldr.db import get_engine
    from oss_tldr.deadline import request_deadline
    from oss_tldr.maintenance import cleanup

    per_repository = max(1, rows // CLEANUP_REPOSITORIES)
    payload = _payload()
    with get_engine().begin() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 0"))  # seeding 2 x 100,000 full reports
        conn.execute(text("DELETE FROM repositories WHERE owner = 'bench-cleanup'"))
        conn.execute(
            text(
                "INSERT INTO repositories (full_name, owner, name, html_url) "
                "SELECT 'bench-cleanup/repo-' || g, 'bench-cleanup', 'repo-' || g, "
                "'https://github.com/bench-cleanup/repo-' || g FROM generate_series(1, :n) AS g"
            ),
            {"n": CLEANUP_REPOSITORIES},
        )
        # Per repository: `per_repository` last_day windows that expired days ago and as many live ones
        # (expiring within the next days), interleaved in the expiry index with the seed's reports.
        conn.execute(
            text(
                "INSERT INTO reports (repository_id, timeframe, timeframe_start, timeframe_end, tldr_text, "
                "prs, issues, people, expires_at) "
                "SELECT r.id, 'last_day', w.e - interval '1 day', w.e, 'x', CAST(:prs AS jsonb), "
                "CAST(:issues AS jsonb), CAST(:people AS jsonb), w.e + interval '1 hour' "
                "FROM repositories r CROSS JOIN LATERAL ("
                "  SELECT date_trunc('hour', now()) + (k - :per) * interval '1 hour' "
                "         - CASE WHEN k <= :per THEN interval '3 days' ELSE interval '0' END AS e "
                "  FROM generate_series(1, 2 * :per) AS k) AS w "
                "WHERE r.owner = 'bench-cleanup'"
            ),
            {"per": per_repository, **payload},
        )
        conn.execute(text("ANALYZE reports"))
        live_before = conn.execute(text("SELECT count(*) FROM reports WHERE expires_at > now()")).scalar_one()
        expired = conn.execute(
            text("SELECT count(*) FROM reports WHERE expires_at < now() - interval '1 hour'")
        ).scalar_one()
    with request_deadline(300.0 - 5.0):  # CleanupFunction's timeout less its answer margin
        result = cleanup.run_cleanup()
    with get_engine().connect() as conn:
        live_after = conn.execute(text("SELECT count(*) FROM reports WHERE expires_at > now()")).scalar_one()
    deleted = result.deleted["reports"]
    return {
        "expired_reports": expired,  # last_day reports past their one-hour grace
        "live_reports": live_before,
        "deleted_reports": deleted,
        "deleted_total": result.total,
        "seconds": round(result.seconds, 2),
        "rows_per_second": round(result.total / result.seconds) if result.seconds else None,
        "batches": result.batches,
        "batch_size": cleanup.BATCH_SIZE,
        "complete": result.complete,
        "live_kept": live_after == live_before,
        "timeout_seconds": 300,
    }


def _write(name: str, data: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamped = {"measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **data}
    (RESULTS / f"{name}.json").write_text(json.dumps(stamped, indent=2) + "\n")


def _cleanup_row(clean: dict[str, Any]) -> tuple[str, str, str]:
    return (
        f"Cleanup: {clean['deleted_reports']:,} expired among {clean['live_reports']:,} live reports"
        f" (batches of {clean['batch_size']:,})",
        f"{clean['seconds']} s, {clean['rows_per_second']:,} rows/s, {clean['batches']} batches;"
        f" live reports all kept: {'yes' if clean['live_kept'] else 'NO'}",
        f"well inside {clean['timeout_seconds']} s",
    )


def table(
    seed: dict[str, Any],
    hit: dict[str, Any],
    cold: dict[str, Any],
    start: dict[str, Any],
    clean: dict[str, Any] | None = None,
    warm: dict[str, Any] | None = None,
) -> str:
    overlap = cold["last_week_after_last_month"]
    rows = [
        ("Database", f"{seed['reports']:,} reports over {seed['repositories']:,} repositories", ""),
        (
            f"Cache hit, section handler in-process, stale-while-revalidate shape ({hit['calls']:,} calls)",
            f"p50 {hit['handler']['p50_ms']} ms · p99 {hit['handler']['p99_ms']} ms",
            "",
        ),
        (
            "Bare indexed SELECT of the same row",
            f"p50 {hit['bare_select']['p50_ms']} ms · p99 {hit['bare_select']['p99_ms']} ms",
            "",
        ),
        ("Handler / SELECT (p50)", f"{hit['ratio_p50']}x (p99 {hit['ratio_p99']}x)", "≤ 3x"),
        ("GitHub requests per cold report (max of 6)", str(cold["github_requests_max"]), "1"),
        (
            "GraphQL points per cold report (max of 6; the fake's cost rule)",
            str(cold["graphql_points_max"]),
            "",
        ),
        ("LLM requests per cold report (max of 6)", str(cold["llm_requests_max"]), "≤ 2"),
        (
            "`last_week` right after `last_month`: item-summary requests",
            f"{overlap['item_summary_requests']} (LLM requests in all: {overlap['llm_requests']})",
            "0",
        ),
    ]
    rows += coldstart.rows(start)
    if clean is not None:
        rows.append(_cleanup_row(clean))
    if warm is not None:
        rows.append(warming_row(warm))
    lines = ["| measure | result | goal |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def update_doc(rendered: str, when: str, marks: tuple[str, str] = (MARK_START, MARK_END)) -> None:
    """Replace the block between ``marks`` in docs/performance.md with ``rendered`` (each bench its own)."""
    start, end = marks
    if not DOC.exists():
        return
    text = DOC.read_text()
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    DOC.write_text(f"{head}{start}\n_Last run: {when} (`make bench`)._\n\n{rendered}\n{end}{tail}")


def _measured(name: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """One measurement (its handlers' metric and log lines kept off stdout), written to its results."""
    print(f"{name} ...", file=sys.stderr)
    with contextlib.redirect_stdout(io.StringIO()):
        figures = measure()
    _write(name, figures)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="cache-hit calls to time")
    parser.add_argument("--cold-start-pairs", type=int, default=7, help="fresh processes per function")
    parser.add_argument("--only-cold-start", action="store_true", help="measure the cold starts alone")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/performance.md")
    parser.add_argument("--cleanup-rows", type=int, default=100_000, help="expired (and live) reports")
    parser.add_argument("--only-cleanup", action="store_true", help="measure the cleanup alone")
    parser.add_argument("--warming-repositories", type=int, default=20, help="popular repositories warmed")
    parser.add_argument("--only-warming", action="store_true", help="measure the warming alone")
    args = parser.parse_args(argv)
    github, openai = _prepare_environment()
    alone = {
        "cleanup": lambda: measure_cleanup(args.cleanup_rows),
        "warming": lambda: measure_warming(github, openai, args.warming_repositories),
    }
    only = [name for name in alone if getattr(args, f"only_{name}")]
    if only:
        try:
            figures = {name: _measured(name, alone[name]) for name in only}
        finally:
            github.stop()
            openai.stop()
        print(json.dumps(figures, indent=2))
        return 0
    try:
        _avoid_window_rollover()
        print("seeding ...", file=sys.stderr)
        seed = seed_database()
        token = seed.pop("token")
        _write("seed", seed)
        if args.only_cold_start:
            print("cold start ...", file=sys.stderr)
            start = coldstart.measure(
                token, coldstart.section_event(token, HIT_REPO, "prs"), args.cold_start_pairs
            )
            _write("cold_start", start)
            print(json.dumps(start, indent=2))
            return 0
        print("cache-hit latency ...", file=sys.stderr)
        with contextlib.redirect_stdout(io.StringIO()):  # the handlers' metric and log lines
            hit = measure_hit_latency(token, args.calls)
        _write("cache_hit_latency", hit)
        print("cold reports ...", file=sys.stderr)
        with contextlib.redirect_stdout(io.StringIO()):
            cold = measure_cold_reports(github, openai, token)
        _write("cold_report_requests", cold)
        print("cold start ...", file=sys.stderr)
        start = coldstart.measure(
            token, coldstart.section_event(token, HIT_REPO, "prs"), args.cold_start_pairs
        )
        _write("cold_start", start)
        clean = _measured("cleanup", alone["cleanup"])
        warm = _measured("warming", alone["warming"])
    finally:
        github.stop()
        openai.stop()
    rendered = table(seed, hit, cold, start, clean, warm)
    print(rendered)
    if not args.no_doc:
        update_doc(rendered, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
