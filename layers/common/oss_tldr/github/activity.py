"""Repository lookup and the activity searches behind a report.

A cold report costs three GitHub requests whatever the timeframe or repository: the repository lookup
(done by the caller, which also needs it for access checks) and one issue search per kind::

    repo:owner/name is:pr    updated:>=<window start>   sort=interactions order=desc per_page=100
    repo:owner/name is:issue updated:>=<window start>   sort=interactions order=desc per_page=100

Why ``updated:>=start`` and not ``updated:start..end``: creating, commenting on, closing or merging an item
all bump its ``updated_at``, so every item created, updated or merged in the window has
``updated_at >= start``; an item touched again *after* the window end would be missed by a closed range
although it was active inside the window. Items created at or after the window end cannot have been active
in it and are dropped here. ``interactions`` (comments + reactions) puts the most engaged items on the one
page we read; ranking refines the order afterwards (see :mod:`oss_tldr.reports.ranking`).
"""

from __future__ import annotations

from typing import Any

from oss_tldr.github import payloads
from oss_tldr.github.client import GitHubClient
from oss_tldr.observability import logger
from oss_tldr.timestamps import github_stamp, parse_timestamp
from oss_tldr.windows import Window

SEARCH_PAGE_SIZE = 100
KINDS = ("pr", "issue")


def fetch_repository(github: GitHubClient, owner: str, name: str) -> dict[str, Any]:
    """``GET /repos/{owner}/{name}``: the validated repository payload (the fields we read, as a dict).
    Raises NotFound (404), RateLimited, UpstreamUnavailable (502: an answer that is not a repository)..."""
    return payloads.repository(github.get(f"/repos/{owner}/{name}").data).model_dump()


parse_time = parse_timestamp  # what the report content reads items' times with


def search_query(full_name: str, kind: str, window: Window) -> str:
    return f"repo:{full_name} is:{kind} updated:>={github_stamp(window.start)}"


def _active_in(window: Window, item: dict[str, Any]) -> bool:
    created = parse_time(item.get("created_at"))
    updated = parse_time(item.get("updated_at"))
    if created is None or updated is None:
        return False
    return created < window.end and updated >= window.start


def _search(github: GitHubClient, full_name: str, kind: str, window: Window) -> list[dict[str, Any]]:
    params = {
        "q": search_query(full_name, kind, window),
        "sort": "interactions",
        "order": "desc",
        "per_page": SEARCH_PAGE_SIZE,
    }
    # Validated: an envelope without a list of items is a 502, never an empty (cacheable) report.
    found = payloads.issue_search(github.get("/search/issues", params=params).data, full_name)
    if found.incomplete_results:
        # GitHub's search timed out part-way: still the best page we can get within the request budget.
        logger.warning("github search incomplete", extra={"repository": full_name, "kind": kind})
    items = [item.as_dict() for item in found.items]
    # The search qualifier is the only filter GitHub applies; keep the kinds apart defensively.
    wanted_pr = kind == "pr"
    return [i for i in items if ("pull_request" in i) == wanted_pr and _active_in(window, i)]


def fetch_activity(
    github: GitHubClient, full_name: str, window: Window
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The raw pull requests and issues active in ``window``: exactly one search request per kind."""
    prs = _search(github, full_name, "pr", window)
    issues = _search(github, full_name, "issue", window)
    return prs, issues
