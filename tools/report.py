"""``make report REPO=owner/repo TIMEFRAME=last_week``: a report in the terminal, as Markdown.

Runs the report function's own code path (the layer's report service, not HTTP) against the configured
database (the embedded Postgres locally) with ``GITHUB_TOKEN``: the first run generates the report with a
progress display on stderr, later runs in the same window print the cached copy and say so.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

from oss_tldr.errors import DomainError
from oss_tldr.observability import logger
from oss_tldr.repo_refs import parse_repo_ref
from oss_tldr.reports import service
from oss_tldr.windows import TIMEFRAMES

WAIT_SECONDS = 600.0  # the terminal can wait for a shared generation much longer than API Gateway
SET_UP_GITHUB_ACCESS = (
    "GITHUB_TOKEN is not set: the report asks GitHub with it (never anonymously). "
    "Set GITHUB_TOKEN to a GitHub personal access token (e.g. `export GITHUB_TOKEN=$(gh auth token)`)."
)
LABELS = {
    "last_day": "last day",
    "last_week": "last week",
    "last_month": "last month",
    "last_year": "last year",
}


class ProgressBar:
    """``[########------------]  40% Summarising pull requests and issues`` on one rewritten line."""

    def __init__(self, stream: TextIO, width: int = 24) -> None:
        self.stream, self.width, self.shown = stream, width, False

    def __call__(self, pct: int, message: str) -> None:
        filled = self.width * max(0, min(100, pct)) // 100
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {pct:3d}% {message[:60]:<60}")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


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
        lines.append(f"- [{title}]({item['html_url']}) · {' · '.join(facts)}")
        if _one_line(item.get("summary")):
            lines.append(f"  {_one_line(item['summary'])}")
    return lines or ["_Nothing in this window._"]


def render_markdown(result: service.ReportResult) -> str:
    report = result.report
    start, end = report.timeframe_start, report.timeframe_end
    lines = [
        f"# {report.repo} · {LABELS.get(report.timeframe, report.timeframe)}",
        "",
        f"_Window {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC · "
        f"generated {report.generated_at:%Y-%m-%d %H:%M:%S} UTC_",
    ]
    if result.cached:
        lines += ["", "> Cached copy: served from the shared report cache, no GitHub or OpenAI call made."]
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


def main(argv: list[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", help="owner/repo or https://github.com/owner/repo")
    parser.add_argument("--timeframe", default="last_week", choices=TIMEFRAMES)
    parser.add_argument("--force", action="store_true", help="regenerate even if a cached copy exists")
    args = parser.parse_args(argv)
    # The Markdown owns stdout: the service's JSON logs go to stderr, warnings and errors only.
    logger.registered_handler.setStream(err)
    logger.setLevel(logging.WARNING)
    bar = ProgressBar(err)
    try:
        owner, repo = parse_repo_ref(args.repo)
        result = service.generate_report(
            service.Requester.service(),
            owner,
            repo,
            args.timeframe,
            force=args.force,
            deadline=time.monotonic() + WAIT_SECONDS,
            listener=bar,
        )
    except DomainError as exc:
        bar.done()
        if exc.code == "github_token_missing":  # the service's own token: the CLI's user can set it
            err.write(f"error: {SET_UP_GITHUB_ACCESS} ({exc.code})\n")
        else:
            err.write(f"error: {exc.detail} ({exc.code})\n")
        return 1
    bar.done()
    if isinstance(result, service.Pending):
        err.write(
            f"still generating elsewhere (job {result.job_id}, {result.progress}%); try again shortly\n"
        )
        return 3
    err.write("served from the cache\n" if result.cached else "generated and cached\n")
    out.write(render_markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
