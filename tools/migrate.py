"""``make migrate``: apply the Alembic migrations to the configured database (``heads`` by default).
``make db-stop``: stop the local embedded PostgreSQL (it is started again on demand)."""

from __future__ import annotations

import argparse

from oss_tldr.db import migrate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["upgrade", "downgrade", "stop"], nargs="?", default="upgrade")
    parser.add_argument("target", nargs="?", default=None)
    args = parser.parse_args(argv)
    if args.action == "stop":
        from oss_tldr.db.local import stop_embedded_server
        from oss_tldr.settings import get_settings

        print("stopped" if stop_embedded_server(get_settings()) else "not running")
    elif args.action == "upgrade":
        migrate.upgrade(target=args.target or "heads")
    else:
        migrate.downgrade(target=args.target or "base")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
