"""``make bench``'s warming figures: what the scheduled warming costs per repository.

``--warming-repositories`` (20) public repositories on the fake GitHub, each with a month of activity (30
pull requests, 25 issues) and tracked by three users, so they are the database's most popular; one run of
:func:`oss_tldr.maintenance.warming.run_warming` with the service token and ``WarmingFunction``'s 600 s
ahead of it warms each one's ``last_week`` report, then a second run finds them all fresh. Measured per
warmed report: GitHub requests and GraphQL points (the fake's cost rule), LLM requests (the fake OpenAI),
seconds; and how many reports a run's default budget pays for.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
from typing import Any

OWNER = "bench-warming"
SERVICE_TOKEN = "gho_fake_bench_service"  # noqa: S105 - a token only the fake GitHub knows
TRACKERS = 3
FIRST_USER_ID = 7_000_000


def _seed(github: Any, repositories: int) -> None:
    from sqlalchemy import text

    from oss_tldr.db import get_engine
    from oss_tldr.reports import access
    from tools.fakes.github_activity import seed_activity

    now = dt.datetime.now(dt.UTC)
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM repositories WHERE owner = :owner"), {"owner": OWNER})
        conn.execute(text("DELETE FROM users WHERE id >= :first"), {"first": FIRST_USER_ID})
    ids = []
    for n in range(repositories):
        name = f"{OWNER}/repo-{n:02d}"
        repo = seed_activity(github, name, now=now, prs=30, issues=25, seed=100 + n)
        ids.append(access.upsert_repository(repo.payload(), asked=name)[0])
    with get_engine().begin() as conn:
        for n, repository_id in enumerate(ids):
            for k in range(TRACKERS):
                user_id = FIRST_USER_ID + n * TRACKERS + k
                conn.execute(
                    text("INSERT INTO users (id, login) VALUES (:id, :login)"),
                    {"id": user_id, "login": f"bench-tracker-{user_id}"},
                )
                conn.execute(
                    text("INSERT INTO user_repositories (user_id, repository_id) VALUES (:u, :r)"),
                    {"u": user_id, "r": repository_id},
                )


def _spread(values: list[float], digits: int = 2) -> dict[str, float]:
    return {"mean": round(statistics.fmean(values), digits), "max": round(max(values), digits)}


def measure_warming(github: Any, openai: Any, repositories: int = 20) -> dict[str, Any]:
    from oss_tldr.deadline import request_deadline
    from oss_tldr.maintenance import warming
    from oss_tldr.settings import get_settings, reset_settings_cache

    github.add_user("bench-service", SERVICE_TOKEN)
    previous = {k: os.environ.get(k) for k in ("GITHUB_TOKEN", "WARMING_MAX_REPOSITORIES")}
    os.environ.update({"GITHUB_TOKEN": SERVICE_TOKEN, "WARMING_MAX_REPOSITORIES": str(repositories)})
    reset_settings_cache()
    try:
        _seed(github, repositories)
        github.reset_counts()
        openai.reset_counts()
        with request_deadline(600.0 - 5.0):  # WarmingFunction's timeout less its answer margin
            first = warming.run_warming()
        github_requests, llm_requests = github.count(), openai.count()
        github.reset_counts()
        with request_deadline(600.0 - 5.0):
            second = warming.run_warming()
        settings = get_settings()
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings_cache()
    warmed = [p for p in first.pairs if p.outcome == warming.WARMED]
    if not warmed:
        raise RuntimeError(f"nothing warmed: {first.reasons()}")
    points = max(p.spent["github_points"] for p in warmed)
    llm = max(p.spent["llm_requests"] for p in warmed)
    return {
        "repositories": repositories,
        "warmed": len(warmed),
        "other_outcomes": first.reasons(),
        "github_requests_per_report": round(github_requests / len(warmed), 2),
        "graphql_points_per_report": _spread([p.spent["github_points"] for p in warmed], 1),
        "llm_requests_per_report": _spread([p.spent["llm_requests"] for p in warmed], 1),
        "seconds_per_report": _spread([p.seconds for p in warmed], 3),
        "run_seconds": round(first.seconds, 2),
        "run_spent": first.spent.as_dict(),
        "llm_requests_seen_by_fake_openai": llm_requests,
        "second_run": {
            "fresh": second.reasons()["skipped"].get("fresh", 0),
            "github_requests": github.count(),
            "seconds": round(second.seconds, 3),
        },
        "default_budget": {
            "github_points": settings.warming_max_github_points,
            "llm_requests": settings.warming_max_llm_requests,
            "reports_per_run": min(
                settings.warming_max_github_points // max(points, 1),
                settings.warming_max_llm_requests // max(llm, 1),
            ),
        },
    }


def row(warm: dict[str, Any]) -> tuple[str, str, str]:
    """The warming's line of docs/performance.md's table."""
    points, llm, seconds = (
        warm["graphql_points_per_report"],
        warm["llm_requests_per_report"],
        warm["seconds_per_report"],
    )
    budget, second = warm["default_budget"], warm["second_run"]
    return (
        f"Warming: cost per warmed report ({warm['warmed']} of {warm['repositories']} repositories)",
        f"{warm['github_requests_per_report']} GitHub requests,"
        f" {points['mean']} points (max {points['max']}), {llm['mean']} LLM requests (max {llm['max']}),"
        f" {seconds['mean']} s (max {seconds['max']});"
        f" run {warm['run_seconds']} s; next run: {second['fresh']} fresh, {second['github_requests']}"
        f" GitHub requests; default budget pays for {budget['reports_per_run']} reports a run",
        "1 GitHub request, ≤ 2 LLM",
    )
