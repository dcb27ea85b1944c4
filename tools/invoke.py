"""``make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json``: run one handler with one event and print
the response, like ``sam local invoke -e`` but in-process and without Docker."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from tools.lambda_local import functions, invoke


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("function", help="logical id in template.yaml, e.g. HealthFunction")
    parser.add_argument("event", type=Path, help="event JSON file, e.g. events/health.json")
    args = parser.parse_args(argv)
    known = functions()
    if args.function not in known:
        print(
            f"unknown function {args.function!r}; template.yaml has: {', '.join(sorted(known))}",
            file=sys.stderr,
        )
        return 2
    event = json.loads(args.event.read_text())
    # Like `sam local invoke`: the function's logs on stderr, its response alone on stdout.
    with contextlib.redirect_stdout(sys.stderr):
        result = invoke(args.function, event)
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
