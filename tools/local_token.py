"""``make token LOGIN=<login>``: a session token for a local user of the configured database (created when
missing), so every route can be tried with curl against ``make dev`` without a GitHub OAuth app.

The token alone goes to stdout (``TOKEN=$(make -s token LOGIN=me)``), the hint to stderr. With
``GITHUB_TOKEN`` set, it is stored (sealed) as the user's GitHub token, so the routes that ask GitHub for
the user work too. Refused outside local environments (``OSS_TLDR_ENV``, docs/configuration.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from oss_tldr.errors import DomainError
from oss_tldr.identity.local import issue_local_session
from oss_tldr.settings import get_settings


def main(argv: list[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("login", help="the local user's (GitHub) login, e.g. octocat")
    args = parser.parse_args(argv)
    try:
        issued = issue_local_session(args.login, github_token=get_settings().github_token)
    except DomainError as exc:
        err.write(f"error: {exc.detail} ({exc.code})\n")
        return 1
    out.write(issued.token + "\n")
    err.write(
        f"session for {args.login} until {issued.expires_at:%Y-%m-%d %H:%M} UTC; "
        'use it as: curl -H "Authorization: Bearer $TOKEN" '
        f"http://127.0.0.1:{os.environ.get('PORT', '3000')}/api/v1/auth/me\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
