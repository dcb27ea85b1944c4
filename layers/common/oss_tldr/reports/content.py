"""A report's content, from GitHub activity to summaries: the generation pipeline behind a cache miss.

    activity (the one GraphQL request, caller) -> drop bots -> rank by activity in the window
      -> item-summary cache (one short read) -> summarise the missing items (1 batched chat completion)
      -> digest: repository + people TL;DRs (1 chat completion) -> extractive text for whatever the model
      left out (``fallbacks``) -> store the new item summaries (one short write) -> ReportContent

GitHub's items arrive validated (:mod:`oss_tldr.github.activity_payloads`: an item's ``url`` is GitHub's or
rebuilt from the repository and number); people's links are built here from the login alone and avatars
kept only when GitHub's. The counts are GitHub's (``activity.stats``), never the length of a list. No
database transaction is open while OpenAI is called. New item summaries are written only once the whole
content has been produced, so a failed generation leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from oss_tldr import urls
from oss_tldr.content_models import Item, Person, ReportStats, UserRef
from oss_tldr.github.activity import Activity
from oss_tldr.github.activity_payloads import ActivityItem, Author
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
from oss_tldr.text import pg_text
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
    stats: ReportStats
    partial: bool  # GitHub answered part of the query with errors
    github_requests: int  # the activity query (two for a renamed repository asked by its old name)
    github_points: int | None  # the query's GraphQL rate-limit cost
    llm_requests: int
    llm_tokens: int
    # What the model left out and the extractive summariser wrote instead: {"items": [numbers], "people":
    # [logins], "tldr": bool}; stored with the report.
    fallbacks: dict[str, object] = field(default_factory=dict)


def _no_progress(pct: int, message: str) -> None:
    return None


def _user_ref(author: Author) -> UserRef:
    return UserRef(
        login=author.login,
        avatar_url=urls.safe_avatar_url(author.avatar_url),
        profile_url=urls.profile_url(author.login),
    )


def _version(item: ActivityItem) -> item_cache.ItemVersion:
    return item.number, item.updated_at


def _item(raw: ActivityItem, summary: str) -> Item:
    return Item(
        id=raw.node_id,
        number=raw.number,
        title=raw.title,
        state=raw.state,
        summary=summary,
        html_url=raw.url,
        created_at=raw.stamp(raw.created_at),
        updated_at=raw.stamp(raw.updated_at),
        comments=raw.comments,
        reactions=raw.reactions,
        labels=list(raw.labels),
        user=_user_ref(raw.author),
        assignees=[_user_ref(a) for a in raw.assignees],
        is_pull_request=raw.kind == "pr",
        merged=raw.merged,
    )


def _item_input(raw: ActivityItem, window: Window) -> ItemInput:
    return ItemInput(
        number=raw.number,
        kind=raw.kind,
        title=raw.title[:TITLE_CHARS],
        body=truncate_to_tokens(raw.body),
        author=raw.author.login,
        state=raw.state,
        merged=raw.merged,
        labels=raw.labels,
        comments=raw.comments,
        reactions=raw.reactions,
        window_activity=ranking.activity_in(raw, window),
    )


def _brief(raw: ActivityItem, summary: str, window: Window) -> ItemBrief:
    return ItemBrief(
        number=raw.number,
        kind=raw.kind,
        title=raw.title[:TITLE_CHARS],
        summary=summary,
        author=raw.author.login,
        state=raw.state,
        merged=raw.merged,
        comments=raw.comments,
        reactions=raw.reactions,
        window_activity=ranking.activity_in(raw, window),
    )


@dataclass
class _Selection:
    """What the report shows, chosen from the window's activity (bots already dropped)."""

    prs_all: list[ActivityItem]
    issues_all: list[ActivityItem]
    top_prs: list[ActivityItem]
    top_issues: list[ActivityItem]
    contributors: list[ranking.Contributor]

    @property
    def shown(self) -> list[ActivityItem]:
        """Every item the report displays (sections and people), once each."""
        seen: dict[int, ActivityItem] = {}
        for group in (self.top_prs, self.top_issues, *[(*p.prs, *p.issues) for p in self.contributors]):
            for raw in group:
                seen.setdefault(raw.number, raw)
        return list(seen.values())


def _select(activity: Activity, window: Window) -> _Selection:
    prs_all, issues_all = ranking.without_bots(activity.prs), ranking.without_bots(activity.issues)
    return _Selection(
        prs_all=prs_all,
        issues_all=issues_all,
        top_prs=ranking.rank(prs_all, window),
        top_issues=ranking.rank(issues_all, window),
        contributors=ranking.top_contributors(prs_all, issues_all, window),
    )


def _summarise_items(
    full_name: str, shown: list[ActivityItem], window: Window, summariser: Summariser, budget: LLMBudget
) -> tuple[dict[int, str], dict[item_cache.ItemVersion, str], list[int]]:
    """Summary of every shown item (cached ones reused), the new summaries to store afterwards, and the
    items the model left out: those get the extractive text, which is not cached (the next generation asks
    the model again)."""
    versions = {raw.number: _version(raw) for raw in shown}
    cached = item_cache.load_summaries(
        full_name, versions.values(), summariser=summariser.name, prompt_version=summariser.prompt_version
    )
    missing = [_item_input(raw, window) for raw in shown if versions[raw.number] not in cached]
    budget.plan(summariser.requests_for(len(missing)) if shown else 0)
    fresh = summariser.summarise_items(missing, budget) if missing else {}
    fresh = {number: text for number, text in fresh.items() if number in versions and text.strip()}
    fallback = ExtractiveSummariser()
    omitted = [item for item in missing if item.number not in fresh]
    summary_of = {
        number: fresh.get(number) or cached.get(version, "") for number, version in versions.items()
    }
    for item in omitted:
        summary_of[item.number] = fallback.summarise_item(item)
    new_rows = {versions[number]: text for number, text in fresh.items()}
    return summary_of, new_rows, sorted(item.number for item in omitted)


def _digest_input(
    activity: Activity, window: Window, sel: _Selection, summary_of: dict[int, str]
) -> DigestInput:
    def brief(raw: ActivityItem) -> ItemBrief:
        return _brief(raw, summary_of[raw.number], window)

    authors = {raw.author.login.lower() for raw in (*sel.prs_all, *sel.issues_all)}
    return DigestInput(
        repository=activity.repository.full_name,
        description=activity.repository.description,
        timeframe=window.timeframe,
        start=window.start.isoformat(),
        end=window.end.isoformat(),
        stats=activity.stats,
        partial=activity.partial,
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
    activity: Activity,
    window: Window,
    *,
    summariser: Summariser,
    progress: Progress = _no_progress,
) -> ReportContent:
    """Rank and summarise the window's activity (:func:`oss_tldr.github.activity.fetch_activity`).

    A model answer that leaves out an item or a person degrades that field alone: the extractive text,
    recorded in ``fallbacks``. Raises ``RateLimited`` (OpenAI) and ``UpstreamUnavailable`` (OpenAI failing,
    refusing, or the request budget spent); nothing is stored then."""
    full_name = activity.repository.full_name
    progress(30, "Ranking activity")
    sel = _select(activity, window)
    shown = sel.shown

    progress(40, "Summarising pull requests and issues")
    budget = LLMBudget()
    summary_of, new_rows, omitted_items = _summarise_items(full_name, shown, window, summariser, budget)

    progress(75, "Writing the TL;DR")
    extractive = ExtractiveSummariser()
    writer = summariser if shown else extractive  # an empty window needs no model to say so
    digest_input = _digest_input(activity, window, sel, summary_of)
    digest = writer.summarise_digest(digest_input, budget)
    people_text = {p.login: (digest.people.get(p.login) or "").strip() for p in sel.contributors}
    omitted_people = [login for login, text in people_text.items() if not text]
    tldr = digest.tldr.strip()
    if omitted_people or not tldr:
        plain = extractive.summarise_digest(digest_input, budget)
        people_text.update({login: plain.people.get(login, "") for login in omitted_people})
        tldr = tldr or plain.tldr

    progress(90, "Saving item summaries")
    item_cache.store_summaries(
        full_name, new_rows, summariser=summariser.name, prompt_version=summariser.prompt_version
    )

    def item(raw: ActivityItem) -> Item:
        return _item(raw, summary_of[raw.number])

    fallbacks: dict[str, object] = {}
    if omitted_items:
        fallbacks["items"] = omitted_items
    if omitted_people:
        fallbacks["people"] = omitted_people
    if not digest.tldr.strip() and shown:
        fallbacks["tldr"] = True
    content = ReportContent(
        prs=[item(raw) for raw in sel.top_prs],
        issues=[item(raw) for raw in sel.top_issues],
        people=[
            Person(
                username=p.login,
                avatar_url=urls.safe_avatar_url(p.author.avatar_url),
                profile_url=urls.profile_url(p.login),
                tldr=pg_text(people_text[p.login]),
                prs=[item(raw) for raw in p.prs],
                issues=[item(raw) for raw in p.issues],
                total_items=p.total_items,
            )
            for p in sel.contributors
        ],
        tldr=pg_text(tldr),
        summariser=summariser.name,
        prompt_version=summariser.prompt_version,
        stats=activity.stats,
        partial=activity.partial,
        github_requests=activity.requests,
        github_points=activity.points,
        llm_requests=budget.requests,
        llm_tokens=budget.tokens,
        fallbacks=fallbacks,
    )
    _emit_metrics(content, summarised=len(new_rows), reused=len(shown) - len(new_rows) - len(omitted_items))
    progress(100, "Report content ready")
    return content


def _emit_metrics(content: ReportContent, *, summarised: int, reused: int) -> None:
    metrics.add_metric(name="GitHubRequests", unit=MetricUnit.Count, value=content.github_requests)
    if content.github_points is not None:
        metrics.add_metric(name="GitHubPoints", unit=MetricUnit.Count, value=content.github_points)
    metrics.add_metric(name="LLMRequests", unit=MetricUnit.Count, value=content.llm_requests)
    metrics.add_metric(name="LLMTokens", unit=MetricUnit.Count, value=content.llm_tokens)
    metrics.add_metric(name="ItemSummariesReused", unit=MetricUnit.Count, value=reused)
    logger.info(
        "report content built",
        extra={
            "summariser": content.summariser,
            "github_requests": content.github_requests,
            "github_points": content.github_points,
            "llm_requests": content.llm_requests,
            "llm_tokens": content.llm_tokens,
            "items_summarised": summarised,
            "items_reused": reused,
            "partial": content.partial,
            "fallbacks": content.fallbacks,
        },
    )
