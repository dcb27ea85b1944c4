"""How ``make report`` shows a report and its progress: Markdown (for a pipe, a file, the tests), the same
Markdown rendered by ``rich`` for a terminal (headings, links, counts), and the progress display of a
generation: a live bar on a terminal, one plain line per step elsewhere. ``rich`` is CLI-only: the layer
never imports it (tests/layer/test_boundaries.py would say so, and it is not a layer requirement)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Protocol, TextIO

from oss_tldr.reports.models import StoredReport

LABELS = {
    "last_day": "last day",
    "last_week": "last week",
    "last_month": "last month",
    "last_year": "last year",
}


# --- Markdown --------------------------------------------------------------------------------------


def _who(user: dict[str, Any] | None) -> str:
    return f"@{(user or {}).get('login') or 'ghost'}"


def _one_line(text: Any) -> str:
    """Text from GitHub or the summariser on one line: a newline would end the Markdown list item."""
    return " ".join(str(text or "").split())


def _link_text(text: Any) -> str:
    """A title as the text of a Markdown link: brackets and backslashes escaped, so it stays one link."""
    return re.sub(r"([\\\[\]])", r"\\\1", _one_line(text))


def _count(n: Any, noun: str) -> str:
    n = int(n or 0)
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _item_lines(items: Iterable[dict[str, Any]]) -> list[str]:
    lines = []
    for item in items:
        facts = [f"by {_who(item.get('user'))}", _count(item.get("comments"), "comment")]
        facts.append(_count(item.get("reactions"), "reaction"))
        if item.get("merged"):
            facts.append("merged")
        elif item.get("state"):
            facts.append(str(item["state"]))
        labels = ", ".join(item.get("labels") or [])
        if labels:
            facts.append(f"labels: {labels}")
        title = _link_text(f"#{item['number']} {item['title']}")
        line = f"- [{title}]({item['html_url']}) · {' · '.join(facts)}"
        summary = _one_line(item.get("summary"))
        # A hard line break (two trailing spaces): the summary on a line of its own, in the same item.
        lines += [f"{line}  ", f"  {summary}"] if summary else [line]
    return lines or ["_Nothing in this window._"]


def _stats_line(stats: dict[str, Any]) -> str:
    """GitHub's own counts for the window (bots included), as the API's ``stats``."""
    prs = _count(stats.get("pull_requests"), "pull request")
    issues = _count(stats.get("issues"), "issue")
    return (
        f"**{prs}** ({int(stats.get('pull_requests_opened') or 0)} opened, "
        f"{int(stats.get('pull_requests_merged') or 0)} merged) · **{issues}** "
        f"({int(stats.get('issues_opened') or 0)} opened, {int(stats.get('issues_closed') or 0)} closed)"
    )


def render_markdown(report: StoredReport, *, cached: bool) -> str:
    start, end = report.timeframe_start, report.timeframe_end
    lines = [
        f"# {report.repo} · {LABELS.get(report.timeframe, report.timeframe)}",
        "",
        f"_Window {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC · "
        f"generated {report.generated_at:%Y-%m-%d %H:%M:%S} UTC_",
        "",
        _stats_line(report.stats),
    ]
    if cached:
        lines += ["", "> Cached copy: served from the shared report cache, no GitHub or OpenAI call made."]
    if report.partial:
        lines += ["", "> Partial: GitHub answered only part of the query; this copy expires within minutes."]
    lines += ["", "## TL;DR", "", report.tldr.strip() or "_No summary._", "", "## Top pull requests", ""]
    lines += _item_lines(report.prs)
    lines += ["", "## Top issues", ""]
    lines += _item_lines(report.issues)
    lines += ["", "## People", ""]
    for person in report.people:
        count = _count(person.get("total_items"), "item")
        lines.append(f"- **@{person['username']}** ({count}): {_one_line(person.get('tldr'))}".rstrip())
    if not report.people:
        lines.append("_Nobody was active in this window._")
    return "\n".join(lines) + "\n"


def print_for_terminal(markdown: str, out: TextIO) -> None:
    """The Markdown rendered for a terminal: headings, bold counts, links clickable (OSC 8)."""
    from rich.console import Console
    from rich.markdown import Markdown

    Console(file=out, force_terminal=True, soft_wrap=False).print(Markdown(markdown, hyperlinks=True))


# --- progress ---------------------------------------------------------------------------------------


class Progress(Protocol):
    def __call__(self, pct: int, message: str) -> None: ...

    def done(self) -> None: ...


class LineProgress:
    """One line per step, ``  40% Summarising pull requests and issues``: for a pipe, a CI log, ``-v``
    (where log lines are interleaved: each stays on a line of its own)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last: tuple[int, str] | None = None

    def __call__(self, pct: int, message: str) -> None:
        step = (max(0, min(100, pct)), message)
        if step != self.last:
            self.stream.write(f"{step[0]:3d}% {message}\n")
            self.stream.flush()
            self.last = step

    def done(self) -> None:
        pass


class LiveProgress:
    """A bar redrawn in place on the terminal (``rich``), removed when the report is ready."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=Console(file=stream, force_terminal=True),
            transient=True,
        )
        self._task = self._bar.add_task("Starting", total=100)
        self._started = False

    def __call__(self, pct: int, message: str) -> None:
        if not self._started:
            self._bar.start()
            self._started = True
        self._bar.update(self._task, completed=max(0, min(100, pct)), description=message[:60])

    def done(self) -> None:
        if self._started:
            self._bar.stop()
            self._started = False


def progress_for(stream: TextIO, *, live: bool) -> Progress:
    return LiveProgress(stream) if live else LineProgress(stream)
