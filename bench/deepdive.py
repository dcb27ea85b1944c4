"""``make bench`` (deep dive): GitHub and LLM requests of one pull request's "Summarize Diff" (its N files'
``/patches`` then every ``/diff`` at once) and of one deep dive, cold and then shared by a second user, and
what a shared answer takes in-process. Results in ``bench/results/deepdive.json`` and docs/performance.md
(its own block). Fakes and database as ``bench.run``'s (the fake OpenAI counts requests); nothing asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.run import ROOT, _prepare_environment, _write, update_doc

MARK_START, MARK_END = "<!-- bench-deepdive:start -->", "<!-- bench-deepdive:end -->"
REPO = "bench-deep/hello"
USERS = (
    (525_001, "bench-deep-a", "gho_fake_bench_deep_a"),
    (525_002, "bench-deep-b", "gho_fake_bench_deep_b"),
)
SIZES = (5, 40, 250)  # files of the pull requests measured


def _sessions(github: Any) -> list[str]:
    from sqlalchemy.dialects.postgresql import insert

    from oss_tldr.db import session_scope
    from oss_tldr.db.models import User
    from oss_tldr.identity.sessions import create_session
    from oss_tldr.identity.tokens import save_sealed_token, seal_github_token

    tokens = []
    for user_id, login, gh in USERS:
        github.add_user(login, gh, id=user_id)
        with session_scope() as session:
            session.execute(insert(User).values(id=user_id, login=login).on_conflict_do_nothing())
            save_sealed_token(session, user_id, seal_github_token(user_id, gh))
            tokens.append(create_session(session, user_id).token)
    return tokens


def _reset() -> None:
    """A cold start: nothing of an earlier run stored (the bench database persists between runs)."""
    from sqlalchemy import text

    from oss_tldr.db import get_engine

    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM repositories WHERE full_name LIKE 'bench-deep/%'"))  # cascades
        conn.execute(text("TRUNCATE patch_explanations, deep_dive_claims, deep_dive_usage"))


def _event(name: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    event["headers"]["authorization"] = f"Bearer {token}"
    event["body"] = json.dumps(body)
    return event


def _seed(github: Any, number: int, files: int, now: dt.datetime) -> None:
    from tools.fakes.github_activity import add_item
    from tools.fakes.github_pulls import add_comment, add_review, file_entry, set_files

    add_item(
        github,
        REPO,
        kind="pr",
        number=number,
        title=f"Change {files} files",
        created_at=now - dt.timedelta(days=2),
    )
    patches = [
        file_entry(
            f"src/module_{i}.py",
            None
            if i % 17 == 16
            else f"@@ -1,3 +1,4 @@ def f_{number}_{i % (files - 3 or 1)}():\n-    a\n+    b\n+    c",
        )
        for i in range(files)
    ]
    set_files(github, REPO, number, patches)
    for k in range(12):
        add_comment(
            github,
            REPO,
            number,
            login=f"user{k % 4}",
            body=f"Comment {k}: looks fine?",
            at=now - dt.timedelta(hours=30 - k),
        )
    add_review(
        github, REPO, number, login="user1", state="APPROVED", body="LGTM", at=now - dt.timedelta(hours=2)
    )


def _ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def _run(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    from tools.lambda_local import FakeLambdaContext

    response: dict[str, Any] = handler(event, FakeLambdaContext("DeepDiveFunction"))
    assert response["statusCode"] == 200, response
    return response


def summarize_diff(handler: Any, token: str, number: int) -> tuple[list[dict[str, str]], float, float]:
    """The SPA's "Summarize Diff": the patches, then every file's /diff at the same moment."""
    started = time.perf_counter()
    url = f"https://github.com/{REPO}"
    listed = _run(
        handler, _event("deepdive_patches.json", token, {"repo_url": url, "pull_request": str(number)})
    )
    patches: list[dict[str, str]] = json.loads(listed["body"])["patches"]
    between = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda p: _run(handler, _event("deepdive_diff.json", token, p)), patches))
    return patches, between - started, time.perf_counter() - between


def measure(github: Any, openai: Any, calls: int) -> dict[str, Any]:
    from tools.lambda_local import load_handler

    handler = load_handler("DeepDiveFunction")
    _reset()
    tokens = _sessions(github)
    now = dt.datetime.now(dt.UTC)
    github.add_repo(REPO)
    runs = []
    for number, files in enumerate(SIZES, start=1):
        _seed(github, number, files, now)
        row: dict[str, Any] = {"files": files}
        for who, token in zip(("cold", "shared"), tokens, strict=True):
            github.reset_counts()
            openai.reset_counts()
            patches, _, _ = summarize_diff(handler, token, number)
            row[f"{who}_diff_github"], row[f"{who}_diff_llm"] = github.count(), openai.count()
            github.reset_counts()
            openai.reset_counts()
            _run(
                handler,
                _event(
                    "deepdive.json", token, {"repo_url": f"https://github.com/{REPO}", "issue": str(number)}
                ),
            )
            row[f"{who}_deepdive_github"], row[f"{who}_deepdive_llm"] = github.count(), openai.count()
        row["distinct_patches"] = len({p["patch"] for p in patches if p["patch"]})
        runs.append(row)
    assert not github.graphql_errors, github.graphql_errors
    url = f"https://github.com/{REPO}"
    timings: dict[str, list[float]] = {"patches": [], "diff": [], "deepdive": []}
    patch = next(p for p in patches if p["patch"])
    events = {
        "patches": _event("deepdive_patches.json", tokens[1], {"repo_url": url, "pull_request": "1"}),
        "diff": _event("deepdive_diff.json", tokens[1], patch),
        "deepdive": _event("deepdive.json", tokens[1], {"repo_url": url, "issue": "1"}),
    }
    for _ in range(calls):
        for name, event in events.items():
            started = time.perf_counter()
            _run(handler, event)
            timings[name].append(time.perf_counter() - started)
    return {"runs": runs, "shared_p50_ms": {k: _ms(v) for k, v in timings.items()}, "calls": calls}


def table(result: dict[str, Any]) -> str:
    lines = [
        "| pull request | Summarize Diff, cold: GitHub / LLM | shared | deep dive, cold | shared | goal |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        pages = -(-r["files"] // 100)
        cold_diff = f"{r['cold_diff_github']} / {r['cold_diff_llm']}"
        shared_diff = f"{r['shared_diff_github']} / {r['shared_diff_llm']}"
        cold_deep = f"{r['cold_deepdive_github']} / {r['cold_deepdive_llm']}"
        shared_deep = f"{r['shared_deepdive_github']} / {r['shared_deepdive_llm']}"
        goal = f"diff {1 + pages} / ≤ {r['distinct_patches']}, deep dive 1 / 1; shared 0 / 0"
        lines.append(
            f"| {r['files']} files ({r['distinct_patches']} distinct patches) "
            f"| {cold_diff} | {shared_diff} | {cold_deep} | {shared_deep} | {goal} |"
        )
    p50 = result["shared_p50_ms"]
    lines.append("")
    lines.append(
        f"Shared answers in-process (p50 of {result['calls']} calls, authentication included): "
        f"`/patches` {p50['patches']} ms, `/diff` {p50['diff']} ms, `/deepdive` {p50['deepdive']} ms."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="shared answers to time per route")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/performance.md")
    args = parser.parse_args(argv)
    github, openai = _prepare_environment()
    try:
        print("deep dive ...", file=sys.stderr)
        with contextlib.redirect_stdout(io.StringIO()):  # the handlers' metric and log lines
            result = measure(github, openai, args.calls)
        _write("deepdive", result)
    finally:
        github.stop()
        openai.stop()
    rendered = table(result)
    print(rendered)
    if not args.no_doc:
        update_doc(rendered, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), (MARK_START, MARK_END))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
