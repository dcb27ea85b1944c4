"""``make report REPO=owner/repo TIMEFRAME=last_week``: a report in the terminal.

Runs the report function's own code path (the layer's report service, not HTTP) against the configured
database (the embedded Postgres locally) with ``GITHUB_TOKEN``: the first run generates the report, later
runs in the same window print the cached copy and say so.

* Output: on a terminal the report rendered (``rich``: headings, links, counts); piped, or with
  ``--output FILE``, the Markdown itself; ``--json`` the API's ``Report`` (``GET /reports/{id}``'s model).
* Progress on stderr: a live bar on a terminal, one line per step otherwise.
* Logs never mix with either: they go to ``.oss-tldr/report.log``, or with ``-v`` to stderr (and then the
  progress is line by line, so no log line is glued to a bar).
* Errors say what to do next: GitHub unreachable (which URL, ``GITHUB_API_URL``, ``make demo``), no
  ``GITHUB_TOKEN`` (how to set one), GitHub's rate limit (when to retry).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from oss_tldr.errors import DomainError
from oss_tldr.observability import logger
from oss_tldr.repo_refs import parse_repo_ref
from oss_tldr.reports import service
from oss_tldr.settings import get_settings
from oss_tldr.windows import TIMEFRAMES
from tools.report_render import print_for_terminal, progress_for, render_markdown

WAIT_SECONDS = 600.0  # the terminal can wait for a shared generation much longer than API Gateway
LOG_FILE = "report.log"  # under OSS_TLDR_STATE_DIR (.oss-tldr/)
OFFLINE = "or try it offline: `make demo`, then `source .oss-tldr/demo.env` in this terminal"
SET_UP_GITHUB_ACCESS = (
    "GITHUB_TOKEN is not set: the report asks GitHub with it (never anonymously). "
    "Set GITHUB_TOKEN to a GitHub personal access token (e.g. `export GITHUB_TOKEN=$(gh auth token)`, "
    f"or one made at https://github.com/settings/tokens), {OFFLINE}."
)


def _transport_failure(exc: BaseException) -> tuple[str, str] | None:
    """(URL, error name) of the network failure behind ``exc``, when a request never got an answer."""
    import httpx  # the client's own exception types, already imported by the failed request

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, httpx.TransportError):
            try:
                url = str(cause.request.url)
            except RuntimeError:  # an error raised without its request
                url = ""
            return url, type(cause).__name__
        cause = cause.__cause__ or cause.__context__
    return None


def explain(exc: DomainError, now: dt.datetime | None = None) -> str:
    """The error line of the CLI: what happened and the next step."""
    settings = get_settings()
    if exc.code == "github_token_missing":  # the service's own token: the CLI's user can set it
        return f"error: {SET_UP_GITHUB_ACCESS} ({exc.code})"
    if exc.code == "github_rate_limited":
        now = now or dt.datetime.now(dt.UTC)
        wait = int(exc.retry_after or 60)
        at = (now + dt.timedelta(seconds=wait)).replace(microsecond=0)
        return (
            f"error: GitHub's rate limit for this GITHUB_TOKEN is used up; retry after {at:%H:%M:%S} UTC "
            f"(in {max(1, round(wait / 60))} min), or use another token ({exc.code})"
        )
    failure = _transport_failure(exc)
    if failure is not None:
        url, kind = failure
        where = url or settings.github_api_url
        return (
            f"error: cannot reach GitHub at {where} ({kind}). GITHUB_API_URL is {settings.github_api_url}: "
            f"check the network or set GITHUB_API_URL to a reachable GitHub API, {OFFLINE} ({exc.code})"
        )
    return f"error: {exc.detail} ({exc.code})"


def report_json(result: service.ReportResult) -> dict[str, Any]:
    """The API's ``Report`` of this result, built by the report function's own conversion."""
    from tools.lambda_local import load_module

    model = load_module("ReportsFunction")._report(result.report, cached=result.cached)
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


def _route_logs(err: TextIO, verbose: bool) -> Path | None:
    """Logs to stderr with ``-v``, else to the log file: never onto stdout or the progress display."""
    if verbose:
        stream: TextIO = err
        path = None
    else:
        path = get_settings().local_state_dir / LOG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = path.open("a")
    logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    root = logging.getLogger()
    if not root.handlers:  # the command itself (a test's capture keeps its own): httpx, embedded Postgres
        root.addHandler(logging.StreamHandler(stream))
        root.setLevel(logging.INFO if verbose else logging.WARNING)
    return path


def main(argv: list[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", help="owner/repo or https://github.com/owner/repo")
    parser.add_argument("--timeframe", default="last_week", choices=TIMEFRAMES)
    parser.add_argument("--force", action="store_true", help="regenerate even if a cached copy exists")
    parser.add_argument("--json", action="store_true", help="the API's Report JSON instead of the text")
    parser.add_argument("--output", "-o", type=Path, help="write the report (or its JSON) to this file")
    parser.add_argument("--verbose", "-v", action="store_true", help="the service's logs on stderr")
    args = parser.parse_args(argv)
    log_file = _route_logs(err, args.verbose)
    progress = progress_for(err, live=err.isatty() and not args.verbose)
    try:
        owner, repo = parse_repo_ref(args.repo)
        result = service.generate_report(
            service.Requester.service(),
            owner,
            repo,
            args.timeframe,
            force=args.force,
            deadline=time.monotonic() + WAIT_SECONDS,
            listener=progress,
        )
    except DomainError as exc:
        progress.done()
        err.write(explain(exc) + "\n")
        if log_file is not None:
            err.write(f"(the service's log: {log_file})\n")
        return 1
    progress.done()
    if isinstance(result, service.Pending):
        err.write(
            f"still generating elsewhere (job {result.job_id}, {result.progress}%); try again shortly\n"
        )
        return 3
    err.write("served from the cache\n" if result.cached else "generated and cached\n")
    if args.json:
        text = json.dumps(report_json(result), indent=2, ensure_ascii=False) + "\n"
    else:
        text = render_markdown(result.report, cached=result.cached)
    if args.output is not None:
        args.output.write_text(text)
        err.write(f"wrote {args.output}\n")
    elif not args.json and out.isatty():
        print_for_terminal(text, out)
    else:
        out.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
