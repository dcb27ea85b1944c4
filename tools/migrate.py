"""``make migrate``: apply the Alembic migrations to the configured database (``heads`` by default)."""

from __future__ import annotations

import argparse

from oss_tldr.db import migrate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["upgrade", "downgrade"], nargs="?", default="upgrade")
    parser.add_argument("target", nargs="?", default=None)
    args = parser.parse_args(argv)
    if args.action == "upgrade":
        migrate.upgrade(target=args.target or "heads")
    else:
        migrate.downgrade(target=args.target or "base")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
