"""``make demo``: the local API exactly as ``make dev`` serves it, against the GitHub and OpenAI fakes of
``tools/fakes`` (started in this process on free loopback ports) seeded with realistic activity, on the
embedded Postgres in a database of its own (``oss_tldr_demo``, recreated at every start). Nothing here
talks to the real GitHub or OpenAI: every upstream URL points at a fake.

It prints, each on a line of its own, ``DEMO_TOKEN=<session token of the demo user>``,
``DEMO_REPO=<owner/repo>`` and ``DEMO_API=<base URL>``, then the curl line of the first report, and writes
the same settings to ``.oss-tldr/demo.env`` (``source`` it in another terminal for ``make report`` or
``make invoke`` against the demo). The demo world:

* ``demo-org/busy-lib``: a busy public repository (dozens of pull requests and issues, bots included);
* ``demo-org/quiet-tool``: a quiet one (a handful of items);
* ``demo-friend/private-app``: a private repository only the second demo user (``DEMO_FRIEND_TOKEN``)
  can see: for ``DEMO_TOKEN`` it is a 404, as a private repository is to anyone whose token cannot see it.

The OAuth flow runs for real against the fake GitHub (its authorize page approves at once, as the demo
user, and redirects back), with the redirect URI and CORS origins of the SPA served on
``http://127.0.0.1:5173`` (built with ``VITE_API_BASE_URL=http://127.0.0.1:3000/api/v1``).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from tools.fakes.github import FakeGitHub
from tools.fakes.github_activity import add_item, seed_activity
from tools.fakes.github_identity import CLIENT_ID, CLIENT_SECRET
from tools.fakes.openai import FakeOpenAI

DEMO_DATABASE = "oss_tldr_demo"
SPA_ORIGIN = "http://127.0.0.1:5173"
SPA_REDIRECT_URI = f"{SPA_ORIGIN}/auth/callback"
BUSY, QUIET, PRIVATE = "demo-org/busy-lib", "demo-org/quiet-tool", "demo-friend/private-app"


@dataclass(frozen=True)
class DemoUser:
    id: int
    login: str
    name: str
    github_token: str


DEMO_USER = DemoUser(31_000_001, "demo-user", "Demo User", "gho_demo_user_fake_token")
DEMO_FRIEND = DemoUser(31_000_002, "demo-friend", "Demo Friend", "gho_demo_friend_fake_token")


def seed(fake: FakeGitHub, now: dt.datetime) -> None:
    """The demo world on the fake GitHub: two users, a busy, a quiet and a private repository."""
    for user in (DEMO_USER, DEMO_FRIEND):  # the first one added is who the authorize page signs in
        fake.add_user(user.login, user.github_token, id=user.id, name=user.name)
    fake.add_repo(BUSY, description="A busy demo library", stargazers_count=4821)
    seed_activity(fake, BUSY, now=now, prs=40, issues=30, bots=4, seed=12)
    fake.add_repo(QUIET, description="A quiet demo tool", stargazers_count=37)
    seed_activity(fake, QUIET, now=now, prs=2, issues=1, bots=0, old=2, seed=5)
    add_item(
        fake,
        QUIET,
        kind="pr",
        title="Fix the --version flag",
        login="grace",
        comments=2,
        merged=True,
        created_at=now - dt.timedelta(days=3),
        updated_at=now - dt.timedelta(days=2),
    )
    fake.add_repo(PRIVATE, private=True, visible_to={DEMO_FRIEND.github_token}, owner_type="User")
    seed_activity(fake, PRIVATE, now=now, prs=8, issues=5, bots=1, seed=21)


def demo_database_url() -> str:
    """A fresh ``oss_tldr_demo`` database on the server of ``DATABASE_URL``, else on the embedded one."""
    from sqlalchemy import make_url

    from oss_tldr.db.local import ensure_database, start_embedded_server
    from oss_tldr.settings import get_settings

    settings = get_settings()
    if settings.database_url:
        server = make_url(settings.database_url).set(drivername="postgresql")
        admin = server.render_as_string(hide_password=False)
    else:
        admin = start_embedded_server((settings.local_state_dir / "pgdata").resolve())
    _drop_database(admin, DEMO_DATABASE)
    return ensure_database(admin, DEMO_DATABASE)


def _drop_database(admin_uri: str, name: str) -> None:
    import psycopg
    from sqlalchemy import make_url

    conninfo = make_url(admin_uri).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def configure(github: FakeGitHub, openai: FakeOpenAI) -> dict[str, str]:
    """The environment of the demo (set before the settings are read again); returns it."""
    env = {
        "OSS_TLDR_ENV": "demo",
        "GITHUB_API_URL": github.url,
        "GITHUB_WEB_URL": github.url,
        "GITHUB_TOKEN": DEMO_USER.github_token,  # make report's service token, a fake one
        "GITHUB_CLIENT_ID": CLIENT_ID,
        "GITHUB_CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_REDIRECT_URI": os.environ.get("OAUTH_REDIRECT_URI") or SPA_REDIRECT_URI,
        "OPENAI_API_KEY": "sk-demo-fake-openai-key",
        "OPENAI_BASE_URL": openai.url,
        "CORS_ALLOW_ORIGINS": os.environ.get("CORS_ALLOW_ORIGINS") or f"{SPA_ORIGIN},http://localhost:5173",
    }
    for name in ("GITHUB_CLIENT_SECRET_ARN", "OPENAI_API_KEY_ARN"):
        os.environ.pop(name, None)
    os.environ.update(env)
    _reread_settings()
    env["DATABASE_URL"] = demo_database_url()
    os.environ["DATABASE_URL"] = env["DATABASE_URL"]
    _reread_settings()
    return env


def _reread_settings() -> None:
    from oss_tldr.db import engine
    from oss_tldr.settings import reset_settings_cache

    reset_settings_cache()
    engine.reset_engine()


def write_env_file(env: dict[str, str], tokens: dict[str, str]) -> Path:
    from oss_tldr.settings import get_settings

    path = get_settings().local_state_dir / "demo.env"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# make demo's settings (fakes on loopback, fake tokens): source it in another terminal"]
    lines += [f"export {key}='{value}'" for key, value in sorted({**env, **tokens}.items())]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def announce(out: TextIO, api: str, tokens: dict[str, str], env_file: Path) -> None:
    first = f"{api}/reports/{tokens['DEMO_REPO']}/prs?timeframe=last_week"
    out.write(
        f"DEMO_TOKEN={tokens['DEMO_TOKEN']}\n"
        f"DEMO_REPO={tokens['DEMO_REPO']}\n"
        f"DEMO_API={api}\n"
        f"DEMO_FRIEND_TOKEN={tokens['DEMO_FRIEND_TOKEN']}\n"
        "\n# the first report (pull requests of the last week), in another terminal:\n"
        f'curl -H "Authorization: Bearer {tokens["DEMO_TOKEN"]}" "{first}"\n'
        f"# the same with the variables: source {env_file}\n"
        f'#   curl -H "Authorization: Bearer $DEMO_TOKEN" '
        f'"{api}/reports/$DEMO_REPO/tldr?timeframe=last_week"\n'
        f"#   make report REPO=$DEMO_REPO       (the terminal report, against the demo)\n"
        f"# also: {QUIET} (quiet), {PRIVATE} (private: 404 for DEMO_TOKEN, 200 for DEMO_FRIEND_TOKEN)\n"
        f"# the SPA: VITE_API_BASE_URL={api} on {SPA_ORIGIN}; sign-in approves at once as demo-user\n"
        "# Ctrl-C stops the demo\n"
    )
    out.flush()


def _stop_on_sigterm(*_: Any) -> None:
    raise KeyboardInterrupt  # the dev server's own shutdown path, then the fakes'


def main(argv: list[str] | None = None, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from tools import devserver
    from tools.github_schema import SchemaUnavailableError, github_schema

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (&)
    try:
        github_schema()  # the fake's GraphQL validates against it: built now, not on the first report
    except SchemaUnavailableError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    github, openai = FakeGitHub.start(), FakeOpenAI.start()
    try:
        seed(github, dt.datetime.now(dt.UTC))
        env = configure(github, openai)
        from oss_tldr.db import migrate
        from oss_tldr.identity.local import issue_local_session

        migrate.upgrade()
        tokens = {"DEMO_REPO": BUSY}
        for user, key in ((DEMO_USER, "DEMO_TOKEN"), (DEMO_FRIEND, "DEMO_FRIEND_TOKEN")):
            issued = issue_local_session(
                user.login, github_id=user.id, github_token=user.github_token, name=user.name
            )
            tokens[key] = issued.token
        env_file = write_env_file(env, tokens)

        def ready(server: ThreadingHTTPServer) -> None:
            host, port = server.server_address[:2]
            api = f"http://{host}:{port}/api/v1"
            announce(out, api, tokens, env_file)
            with env_file.open("a") as fh:
                fh.write(f"export DEMO_API='{api}'\n")

        return devserver.main(argv, on_ready=ready)
    finally:
        github.stop()
        openai.stop()


if __name__ == "__main__":
    raise SystemExit(main())
