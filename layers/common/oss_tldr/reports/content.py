"""A report's content, from GitHub activity to summaries: the generation pipeline behind a cache miss.

    repo payload (caller) -> 2 searches -> drop bots -> rank -> item-summary cache (one short read)
      -> summarise the missing items (≤ 2 batched chat completions) -> digest: repository + people TL;DRs
      (1 chat completion) -> store the new item summaries (one short write) -> ReportContent

GitHub's items arrive validated (:mod:`oss_tldr.github.payloads`: an item's ``html_url`` is GitHub's or
rebuilt from the repository and number); people's links are built here from the login alone and avatars
kept only when GitHub's. No database transaction is open while GitHub or OpenAI is called. New item
summaries are written only once the whole content has been produced, so a failed generation leaves nothing
behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oss_tldr import urls
from oss_tldr.content_models import Item, Person, UserRef
from oss_tldr.github.activity import fetch_activity, parse_time
from oss_tldr.github.client import GitHubClient
from oss_tldr.observability import MetricUnit, logger, metrics
from oss_tldr.reports import item_cache, ranking
from oss_tldr.reports.summarise import (
    DigestInput,
    ExtractiveSummariser,
    ItemBrief,
    ItemInput,
    LLMBudget,
    PersonInput,
    Summariser,
    truncate_to_tokens,
)
from oss_tldr.reports.summarise.base import TITLE_CHARS
from oss_tldr.text import pg_json
from oss_tldr.windows import Window

Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class ReportContent:
    prs: list[Item]
    issues: list[Item]
    people: list[Person]
    tldr: str
    summariser: str
    prompt_version: str
    github_requests: int  # requests made here (the two searches, retries included), not the caller's lookup
    llm_requests: int
    llm_tokens: int


def _no_progress(pct: int, message: str) -> None:
    return None


def _kind(raw: dict[str, Any]) -> str:
    return "pr" if "pull_request" in raw else "issue"


def _merged(raw: dict[str, Any]) -> bool:
    pull = raw.get("pull_request")
    return bool(isinstance(pull, dict) and pull.get("merged_at"))


def _user_ref(user: dict[str, Any] | None) -> UserRef:
    login = str((user or {}).get("login") or "ghost")
    return UserRef(
        login=login,
        avatar_url=urls.safe_avatar_url((user or {}).get("avatar_url")),
        profile_url=urls.profile_url(login),
    )


def _labels(raw: dict[str, Any]) -> list[str]:
    names = []
    for label in raw.get("labels") or []:
        name = label.get("name") if isinstance(label, dict) else label
        if name:
            names.append(str(name))
    return names


def _version(raw: dict[str, Any]) -> item_cache.ItemVersion:
    updated = parse_time(raw.get("updated_at"))
    assert updated is not None  # activity keeps only items with timestamps
    return int(raw["number"]), updated


def _item(raw: dict[str, Any], summary: str) -> Item:
    return Item(
        id=str(raw.get("node_id") or raw.get("id") or raw["number"]),
        number=int(raw["number"]),
        title=str(raw.get("title") or ""),
        state=str(raw.get("state") or "open"),
        summary=summary,
        html_url=str(raw.get("html_url") or ""),
        created_at=str(raw.get("created_at") or ""),
        updated_at=str(raw.get("updated_at") or ""),
        comments=int(raw.get("comments") or 0),
        reactions=ranking.reactions(raw),
        labels=_labels(raw),
        user=_user_ref(raw.get("user")),
        assignees=[_user_ref(a) for a in raw.get("assignees") or [] if isinstance(a, dict)],
        is_pull_request=_kind(raw) == "pr",
        merged=_merged(raw),
    )


def _item_input(raw: dict[str, Any]) -> ItemInput:
    return ItemInput(
        number=int(raw["number"]),
        kind="pr" if _kind(raw) == "pr" else "issue",
        title=str(raw.get("title") or "")[:TITLE_CHARS],
        body=truncate_to_tokens(raw.get("body")),
        author=str((raw.get("user") or {}).get("login") or "ghost"),
        state=str(raw.get("state") or "open"),
        merged=_merged(raw),
        labels=tuple(_labels(raw)),
        comments=int(raw.get("comments") or 0),
        reactions=ranking.reactions(raw),
    )


def _brief(raw: dict[str, Any], summary: str) -> ItemBrief:
    return ItemBrief(
        number=int(raw["number"]),
        kind="pr" if _kind(raw) == "pr" else "issue",
        title=str(raw.get("title") or "")[:TITLE_CHARS],
        summary=summary,
        author=str((raw.get("user") or {}).get("login") or "ghost"),
        state=str(raw.get("state") or "open"),
        merged=_merged(raw),
        comments=int(raw.get("comments") or 0),
        reactions=ranking.reactions(raw),
    )


@dataclass
class _Selection:
    """What the report shows, chosen from the window's activity (bots already dropped)."""

    prs_all: list[dict[str, Any]]
    issues_all: list[dict[str, Any]]
    top_prs: list[dict[str, Any]]
    top_issues: list[dict[str, Any]]
    contributors: list[ranking.Contributor]

    @property
    def shown(self) -> list[dict[str, Any]]:
        """Every item the report displays (sections and people), once each."""
        seen: dict[int, dict[str, Any]] = {}
        for group in (self.top_prs, self.top_issues, *[(*p.prs, *p.issues) for p in self.contributors]):
            for raw in group:
                seen.setdefault(int(raw["number"]), raw)
        return list(seen.values())


def _select(raw_prs: list[dict[str, Any]], raw_issues: list[dict[str, Any]]) -> _Selection:
    prs_all, issues_all = ranking.without_bots(raw_prs), ranking.without_bots(raw_issues)
    return _Selection(
        prs_all=prs_all,
        issues_all=issues_all,
        top_prs=ranking.rank(prs_all),
        top_issues=ranking.rank(issues_all),
        contributors=ranking.top_contributors(prs_all, issues_all),
    )


def _summarise_items(
    full_name: str, shown: list[dict[str, Any]], summariser: Summariser, budget: LLMBudget
) -> tuple[dict[int, str], dict[item_cache.ItemVersion, str]]:
    """Summary of every shown item (cached ones reused) and the new summaries to store afterwards."""
    versions = {int(raw["number"]): _version(raw) for raw in shown}
    cached = item_cache.load_summaries(
        full_name, versions.values(), summariser=summariser.name, prompt_version=summariser.prompt_version
    )
    missing = [_item_input(raw) for raw in shown if versions[int(raw["number"])] not in cached]
    budget.plan(summariser.requests_for(len(missing)) if shown else 0)
    fresh = summariser.summarise_items(missing, budget) if missing else {}
    summary_of = {
        number: fresh.get(number) or cached.get(version, "") for number, version in versions.items()
    }
    new_rows = {versions[number]: text for number, text in fresh.items() if number in versions}
    return summary_of, new_rows


def _digest_input(
    repo: dict[str, Any], window: Window, sel: _Selection, summary_of: dict[int, str]
) -> DigestInput:
    def brief(raw: dict[str, Any]) -> ItemBrief:
        return _brief(raw, summary_of[int(raw["number"])])

    authors = {
        str((raw.get("user") or {}).get("login", "")).lower() for raw in (*sel.prs_all, *sel.issues_all)
    }
    return DigestInput(
        repository=str(repo["full_name"]),
        description=repo.get("description"),
        timeframe=window.timeframe,
        start=window.start.isoformat(),
        end=window.end.isoformat(),
        pr_count=len(sel.prs_all),
        merged_count=sum(1 for raw in sel.prs_all if _merged(raw)),
        issue_count=len(sel.issues_all),
        contributor_count=len(authors),
        prs=tuple(brief(raw) for raw in sel.top_prs),
        issues=tuple(brief(raw) for raw in sel.top_issues),
        people=tuple(
            PersonInput(
                username=p.login,
                prs=tuple(brief(raw) for raw in p.prs),
                issues=tuple(brief(raw) for raw in p.issues),
                total_items=p.total_items,
            )
            for p in sel.contributors
        ),
    )


def build_report_content(
    repo: dict[str, Any],
    window: Window,
    *,
    github: GitHubClient,
    summariser: Summariser,
    progress: Progress = _no_progress,
) -> ReportContent:
    """Fetch, rank and summarise the window's activity of ``repo`` (the payload of ``fetch_repository``).

    Raises ``RateLimited`` (GitHub or OpenAI rate limit), ``UpstreamUnavailable`` (GitHub or OpenAI failing,
    or answers still invalid when the request budget is spent) and the GitHub client's errors; nothing is
    stored then."""
    full_name = str(repo["full_name"])
    progress(5, "Fetching pull requests and issues from GitHub")
    before = github.requests_made
    raw_prs, raw_issues = fetch_activity(github, full_name, window)
    # Titles and bodies go to the model (UTF-8) and into Postgres: no NUL, no lone surrogate.
    raw_prs, raw_issues = pg_json(raw_prs), pg_json(raw_issues)
    github_requests = github.requests_made - before

    progress(30, "Ranking activity")
    sel = _select(raw_prs, raw_issues)
    shown = sel.shown

    progress(40, "Summarising pull requests and issues")
    budget = LLMBudget()
    summary_of, new_rows = _summarise_items(full_name, shown, summariser, budget)

    progress(75, "Writing the TL;DR")
    writer = summariser if shown else ExtractiveSummariser()  # an empty window needs no model to say so
    digest = writer.summarise_digest(_digest_input(repo, window, sel, summary_of), budget)

    progress(90, "Saving item summaries")
    item_cache.store_summaries(
        full_name, new_rows, summariser=summariser.name, prompt_version=summariser.prompt_version
    )

    def item(raw: dict[str, Any]) -> Item:
        return _item(raw, summary_of[int(raw["number"])])

    content = ReportContent(
        prs=[item(raw) for raw in sel.top_prs],
        issues=[item(raw) for raw in sel.top_issues],
        people=[
            Person(
                username=p.login,
                avatar_url=urls.safe_avatar_url(p.user.get("avatar_url")),
                profile_url=urls.profile_url(p.login),
                tldr=digest.people.get(p.login, ""),
                prs=[item(raw) for raw in p.prs],
                issues=[item(raw) for raw in p.issues],
                total_items=p.total_items,
            )
            for p in sel.contributors
        ],
        tldr=digest.tldr,
        summariser=summariser.name,
        prompt_version=summariser.prompt_version,
        github_requests=github_requests,
        llm_requests=budget.requests,
        llm_tokens=budget.tokens,
    )
    _emit_metrics(content, summarised=len(new_rows), reused=len(shown) - len(new_rows))
    progress(100, "Report content ready")
    return content


def _emit_metrics(content: ReportContent, *, summarised: int, reused: int) -> None:
    metrics.add_metric(name="GitHubRequests", unit=MetricUnit.Count, value=content.github_requests)
    metrics.add_metric(name="LLMRequests", unit=MetricUnit.Count, value=content.llm_requests)
    metrics.add_metric(name="LLMTokens", unit=MetricUnit.Count, value=content.llm_tokens)
    metrics.add_metric(name="ItemSummariesReused", unit=MetricUnit.Count, value=reused)
    logger.info(
        "report content built",
        extra={
            "summariser": content.summariser,
            "github_requests": content.github_requests,
            "llm_requests": content.llm_requests,
            "llm_tokens": content.llm_tokens,
            "items_summarised": summarised,
            "items_reused": reused,
        },
    )
