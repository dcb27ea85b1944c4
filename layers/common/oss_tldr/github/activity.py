"""The one GitHub request behind a cold report: a single GraphQL query (:data:`ACTIVITY_QUERY`).

It returns, in one round trip:

* the repository (GitHub's immutable id, the name as GitHub displays it now, visibility, metadata); a
  repository the token cannot see is ``null`` with a ``NOT_FOUND`` error, which is a 404 here;
* GitHub's exact counts for the window, from the ``issueCount`` of six searches (bots included)::

      pull_requests         repo:o/n is:pr    updated:>=START created:<END
      pull_requests_opened  repo:o/n is:pr    created:START..END-1s
      pull_requests_merged  repo:o/n is:pr    merged:START..END-1s
      issues                repo:o/n is:issue updated:>=START created:<END
      issues_opened         repo:o/n is:issue created:START..END-1s
      issues_closed         repo:o/n is:issue closed:START..END-1s

* the candidates the report ranks: per kind, the :data:`CANDIDATES` most recently updated and the
  :data:`CANDIDATES` most engaged (``sort:interactions-desc``, lifetime) items updated in the window, each
  with its activity *inside* the window: ``timelineItems(since: START)`` counts of comments, reviews and
  other events (commits, merges, closes, reopens), beside the lifetime totals used only to break ties.

Why ``updated:>=START`` and not ``updated:START..END``: creating, commenting on, closing or merging an item
all bump its ``updatedAt``, so every item active in the window has ``updatedAt >= START``; one touched again
after the window end would be missed by a closed range. ``created:<END`` leaves out what did not exist yet.

A renamed or transferred repository asked by its old name: ``repository`` resolves to it (its
``nameWithOwner`` is the new name) but searches by the old name find nothing, so the query is run once more
with the new name — two requests, once: the caller remembers the old name as an alias.

The answer is untrusted input: shape-checked here (pydantic, :mod:`oss_tldr.github.activity_payloads`),
never a 500. Errors on parts of the answer (a search GitHub could not complete) make the activity
``partial``: served, marked, and cached for minutes only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import ValidationError

from oss_tldr import usage
from oss_tldr.content_models import ReportStats
from oss_tldr.errors import DomainError, NotFound, UpstreamUnavailable
from oss_tldr.github import graphql
from oss_tldr.github.activity_payloads import REPOSITORY_FIELDS, ActivityAnswer, ActivityItem, SearchNode
from oss_tldr.github.client import GitHubClient
from oss_tldr.github.payloads import RepositoryPayload
from oss_tldr.observability import logger
from oss_tldr.timestamps import github_stamp
from oss_tldr.windows import Window

CANDIDATES = 40  # per kind and order: up to 80 pull requests and 80 issues ranked per report
PR_EVENTS = "[PULL_REQUEST_COMMIT, MERGED_EVENT, CLOSED_EVENT, REOPENED_EVENT, READY_FOR_REVIEW_EVENT]"
ISSUE_EVENTS = "[CLOSED_EVENT, REOPENED_EVENT, CROSS_REFERENCED_EVENT]"

_COMMON_FIELDS = """
      id number title url state body createdAt updatedAt closedAt authorAssociation
      author { __typename login avatarUrl }
      labels(first: 10) { nodes { name } }
      assignees(first: 5) { nodes { __typename login avatarUrl } }
      comments { totalCount }
      reactions { totalCount }
      windowComments: timelineItems(since: $since, itemTypes: [ISSUE_COMMENT]) { totalCount }"""

ACTIVITY_QUERY = f"""
query ReportActivity(
  $owner: String!, $name: String!, $since: DateTime!, $first: Int!,
  $prs: String!, $prsOpened: String!, $prsMerged: String!,
  $issues: String!, $issuesOpened: String!, $issuesClosed: String!,
  $recentPrs: String!, $engagedPrs: String!, $recentIssues: String!, $engagedIssues: String!
) {{
  rateLimit {{ cost remaining resetAt }}
  repository(owner: $owner, name: $name) {{{REPOSITORY_FIELDS}
  }}
  prs: search(type: ISSUE, query: $prs) {{ issueCount }}
  prsOpened: search(type: ISSUE, query: $prsOpened) {{ issueCount }}
  prsMerged: search(type: ISSUE, query: $prsMerged) {{ issueCount }}
  issues: search(type: ISSUE, query: $issues) {{ issueCount }}
  issuesOpened: search(type: ISSUE, query: $issuesOpened) {{ issueCount }}
  issuesClosed: search(type: ISSUE, query: $issuesClosed) {{ issueCount }}
  recentPrs: search(type: ISSUE, query: $recentPrs, first: $first) {{
    nodes {{ __typename ...pullRequest }}
  }}
  engagedPrs: search(type: ISSUE, query: $engagedPrs, first: $first) {{
    nodes {{ __typename ...pullRequest }}
  }}
  recentIssues: search(type: ISSUE, query: $recentIssues, first: $first) {{
    nodes {{ __typename ...issue }}
  }}
  engagedIssues: search(type: ISSUE, query: $engagedIssues, first: $first) {{
    nodes {{ __typename ...issue }}
  }}
}}

fragment pullRequest on PullRequest {{{_COMMON_FIELDS}
      mergedAt isDraft
      windowReviews: timelineItems(since: $since, itemTypes: [PULL_REQUEST_REVIEW]) {{ totalCount }}
      windowEvents: timelineItems(since: $since, itemTypes: {PR_EVENTS}) {{ totalCount }}
}}

fragment issue on Issue {{{_COMMON_FIELDS}
      windowEvents: timelineItems(since: $since, itemTypes: {ISSUE_EVENTS}) {{ totalCount }}
}}
"""

COUNT_FIELDS = {
    "prs": "pull_requests",
    "prsOpened": "pull_requests_opened",
    "prsMerged": "pull_requests_merged",
    "issues": "issues",
    "issuesOpened": "issues_opened",
    "issuesClosed": "issues_closed",
}
CANDIDATE_FIELDS = ("recentPrs", "engagedPrs", "recentIssues", "engagedIssues")


@dataclass(frozen=True)
class Activity:
    """What a report is made from: the repository, the window's exact counts, the ranked candidates."""

    repository: RepositoryPayload
    github_id: int
    stats: ReportStats
    prs: list[ActivityItem]  # updated in the window, each once
    issues: list[ActivityItem]
    partial: bool  # GitHub answered part of the query with errors: served marked, cached for minutes
    points: int | None  # the query's rateLimit.cost
    requests: int  # GitHub requests made (2 for a renamed repository asked by its old name)


def variables(full_name: str, window: Window, first: int = CANDIDATES) -> dict[str, object]:
    owner, _, name = full_name.partition("/")
    repo = f"repo:{full_name}"
    start, end = github_stamp(window.start), github_stamp(window.end)
    last = github_stamp(window.end - dt.timedelta(seconds=1))  # search ranges include both ends
    updated = f"updated:>={start} created:<{end}"
    return {
        "owner": owner,
        "name": name,
        "since": start,
        "first": first,
        "prs": f"{repo} is:pr {updated}",
        "prsOpened": f"{repo} is:pr created:{start}..{last}",
        "prsMerged": f"{repo} is:pr merged:{start}..{last}",
        "issues": f"{repo} is:issue {updated}",
        "issuesOpened": f"{repo} is:issue created:{start}..{last}",
        "issuesClosed": f"{repo} is:issue closed:{start}..{last}",
        "recentPrs": f"{repo} is:pr {updated} sort:updated-desc",
        "engagedPrs": f"{repo} is:pr {updated} sort:interactions-desc",
        "recentIssues": f"{repo} is:issue {updated} sort:updated-desc",
        "engagedIssues": f"{repo} is:issue {updated} sort:interactions-desc",
    }


def _parse(answer: graphql.GraphQLAnswer) -> ActivityAnswer:
    try:
        return ActivityAnswer.model_validate(answer.data)
    except ValidationError as exc:
        logger.warning("github graphql answer malformed", extra={"errors": exc.error_count()})
        raise UpstreamUnavailable("GitHub returned an unexpected answer; try again shortly.") from exc


def _not_found() -> NotFound:
    return NotFound("Not found on GitHub.", code="github_not_found")


def missing_repository(answer: graphql.GraphQLAnswer) -> DomainError:
    """A ``null`` repository: GitHub's ``NOT_FOUND`` (missing, or not visible to the token) is a 404; any
    other reason (an error of another type, or none at all) is an answer we cannot use, a 502 — never a
    "not found" GitHub did not say."""
    if any(e.type == "NOT_FOUND" for e in answer.errors_at("repository")):
        return _not_found()
    logger.warning(
        "github graphql answer without the repository",
        extra={"errors": [{"type": e.type, "message": e.message} for e in answer.errors_at("repository")]},
    )
    return UpstreamUnavailable("GitHub returned an unexpected answer; try again shortly.")


def _ask(
    github: GitHubClient, full_name: str, window: Window
) -> tuple[graphql.GraphQLAnswer, ActivityAnswer]:
    answer = graphql.query(github, ACTIVITY_QUERY, variables(full_name, window))
    return answer, _parse(answer)


def _items(
    searches: list[SearchNode | None], kind: str, full_name: str, window: Window
) -> list[ActivityItem]:
    """The candidates of both orders, once each, active in the window (created before its end)."""
    seen: dict[int, ActivityItem] = {}
    for search in searches:
        for node in search.nodes if search else []:
            if node is None or node.kind != kind:
                continue  # a node of the other kind, or one GitHub could not resolve
            item = node.to_item(full_name)
            if item.created_at < window.end and item.updated_at >= window.start:
                seen.setdefault(item.number, item)
    return list(seen.values())


def _in(moment: dt.datetime | None, window: Window) -> bool:
    return moment is not None and window.start <= moment < window.end


def _lower_bounds(prs: list[ActivityItem], issues: list[ActivityItem], window: Window) -> dict[str, int]:
    """What the candidates alone show of each count: a count GitHub could not give (a partial answer) is
    at least this, never an invented 0."""
    return {
        "pull_requests": len(prs),
        "pull_requests_opened": sum(_in(i.created_at, window) for i in prs),
        "pull_requests_merged": sum(_in(i.merged_at, window) for i in prs),
        "issues": len(issues),
        "issues_opened": sum(_in(i.created_at, window) for i in issues),
        "issues_closed": sum(_in(i.closed_at, window) for i in issues),
    }


def fetch_activity(github: GitHubClient, full_name: str, window: Window) -> Activity:
    """The window's activity of ``full_name`` in one GraphQL request (two for a renamed repository asked by
    its old name). Raises NotFound (404: missing, or not visible to the token), RateLimited (429, the
    token's points), UpstreamUnavailable (502) and the client's HTTP errors."""
    before = github.requests_made
    try:
        return _fetch(github, full_name, window, before)
    finally:  # what was asked is spent, whatever the answer (usage.metered: the warming's budget)
        usage.record(github_requests=github.requests_made - before)


def _fetch(github: GitHubClient, full_name: str, window: Window, before: int) -> Activity:
    answer, parsed = _ask(github, full_name, window)
    repository = parsed.repository
    if repository is None:
        raise missing_repository(answer)
    if repository.nameWithOwner.lower() != full_name.lower():
        # Renamed or transferred: the searches by the old name found nothing. Once more, by the new name.
        logger.info("github repository renamed", extra={"asked": full_name, "now": repository.nameWithOwner})
        answer, parsed = _ask(github, repository.nameWithOwner, window)
        repository = parsed.repository
        if repository is None:
            raise missing_repository(answer)
    failed = {e.top_field for e in answer.errors if e.top_field != "rateLimit"}
    counts = {field: getattr(parsed, field) for field in COUNT_FIELDS}
    partial = bool(failed) or any(counts[field] is None for field in COUNT_FIELDS)
    partial = partial or any(getattr(parsed, field) is None for field in CANDIDATE_FIELDS)
    if partial:
        logger.warning(
            "github answer partial",
            extra={"repository": repository.nameWithOwner, "fields": sorted(str(f) for f in failed)},
        )
    name = repository.nameWithOwner
    prs = _items([parsed.recentPrs, parsed.engagedPrs], "pr", name, window)
    issues = _items([parsed.recentIssues, parsed.engagedIssues], "issue", name, window)
    floor = _lower_bounds(prs, issues, window)
    stats = ReportStats(
        **{
            stat: counts[field].issueCount if counts[field] is not None else floor[stat]
            for field, stat in COUNT_FIELDS.items()
        }
    )
    points = parsed.rateLimit.cost if parsed.rateLimit else None
    usage.record(github_points=points or 0)
    logger.info(
        "github activity fetched",
        extra={
            "repository": repository.nameWithOwner,
            "graphql_points": points,
            "points_remaining": parsed.rateLimit.remaining if parsed.rateLimit else None,
            "candidates": len(prs) + len(issues),
        },
    )
    return Activity(
        repository=repository.to_payload(),
        github_id=repository.databaseId,
        stats=stats,
        prs=prs,
        issues=issues,
        partial=partial,
        points=points,
        requests=github.requests_made - before,
    )
