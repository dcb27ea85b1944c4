"""``make demo`` (tools/demo.py), started the way the Makefile starts it: it prints DEMO_TOKEN and DEMO_REPO
on lines of their own, a report section answers 200 with items and the TL;DR text with that token, the
private demo repository is a 404 to it, everything upstream is a loopback fake, and it stops cleanly."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120  # a bound for a stuck start on a loaded machine, not a timing assertion


@pytest.fixture
def demo(database_url, github_graphql_schema) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")])}
    for name in ("OSS_TLDR_ENV", "GITHUB_TOKEN", "OPENAI_API_KEY", "CORS_ALLOW_ORIGINS"):
        env.pop(name, None)
    env.pop("OAUTH_REDIRECT_URI", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.demo", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    printed: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [printed.put(line) for line in process.stdout], daemon=True).start()
    lines: dict[str, str] = {}
    try:
        while not {"DEMO_TOKEN", "DEMO_REPO", "DEMO_API", "DEMO_FRIEND_TOKEN"} <= set(lines):
            try:
                line = printed.get(timeout=STARTUP_SECONDS)
            except queue.Empty:
                pytest.fail(f"the demo printed no DEMO_ lines (exit status {process.poll()}): {lines}")
            key, sep, value = line.rstrip("\n").partition("=")
            if sep and key.isupper():
                lines[key] = value
        yield process, lines
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                raise


def test_make_demo_serves_a_report_with_the_printed_token_offline_and_stops_cleanly(demo):
    process, lines = demo
    api, repo = lines["DEMO_API"], lines["DEMO_REPO"]
    headers = {"authorization": f"Bearer {lines['DEMO_TOKEN']}"}
    with httpx.Client(base_url=api, timeout=60) as client:
        prs = client.get(f"/reports/{repo}/prs", params={"timeframe": "last_week"}, headers=headers)
        assert prs.status_code == 200, prs.text
        items = prs.json()["prs"]
        assert items and all(item["html_url"].startswith(f"https://github.com/{repo}/") for item in items)
        tldr = client.get(f"/reports/{repo}/tldr", params={"timeframe": "last_week"}, headers=headers)
        assert tldr.status_code == 200 and tldr.headers["content-type"].startswith("text/plain")
        assert repo in tldr.text

        private = "demo-friend/private-app"
        hidden = client.get(f"/reports/{private}/prs", params={"timeframe": "last_week"}, headers=headers)
        assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
        friend = {"authorization": f"Bearer {lines['DEMO_FRIEND_TOKEN']}"}
        shown = client.get(f"/reports/{private}/prs", params={"timeframe": "last_week"}, headers=friend)
        assert shown.status_code == 200 and shown.json()["prs"]

        login = client.get("/auth/github/login").json()  # OAuth against the fake: approves at once
        consent = httpx.get(login["auth_url"], follow_redirects=False)
        assert consent.status_code == 302
        callback = httpx.URL(consent.headers["location"])
        assert str(callback).startswith("http://127.0.0.1:5173/auth/callback?")
        signed_in = client.post(
            "/auth/github/callback",
            json={"code": callback.params["code"], "state": callback.params["state"]},
            headers={"origin": "http://127.0.0.1:5173"},
        )
        assert signed_in.status_code == 200 and signed_in.json()["user"]["login"] == "demo-user"
        assert signed_in.headers["access-control-allow-origin"] == "http://127.0.0.1:5173"

    settings = {}
    env_file = Path(os.environ["OSS_TLDR_STATE_DIR"]) / "demo.env"
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            settings[key] = value.strip("'")
    for name in ("GITHUB_API_URL", "GITHUB_WEB_URL", "OPENAI_BASE_URL", "DEMO_API"):
        assert settings[name].startswith("http://127.0.0.1:"), (name, settings[name])  # nothing real
    assert make_url(settings["DATABASE_URL"]).database == "oss_tldr_demo"  # a database of its own

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
