"""``make openapi``: write docs/openapi.json, the OpenAPI description of every API function.

It is generated from the handlers' Powertools resolvers (their pydantic request and response models, each
route's ``responses=`` naming the error statuses its logic answers), so it cannot drift from the code; here
every operation also gets the statuses the shared resolver answers on every route (413, 422, 503) and,
when its function's route table (``ROUTES``, :mod:`oss_tldr.api.routes`) says it needs a session, 401 and the
bearer security scheme. A test checks that the committed file is current and that its routes are exactly
template.yaml's; tests/contract/test_schemathesis.py checks it against the running API.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from oss_tldr.api.responses import DESCRIPTIONS, EVERY_ROUTE, Error
from oss_tldr.api.routes import RouteTable, parse_route_key
from oss_tldr.limits import PG_BIGINT_MAX, PG_INTEGER_MAX
from tools.lambda_local import ROOT, functions, load_module

OUTPUT = ROOT / "docs" / "openapi.json"
INFO = {
    "title": "OSS TL;DR API",
    "version": "1.0.0",
    "description": "Reports on what happened in a GitHub repository, shared across users. "
    "Errors are JSON {detail, code}. See docs/api.md.",
}


def _error(status: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _authenticated(routes: RouteTable) -> set[tuple[str, str]]:
    """The (method, path) of the routes of a function's table that need a session."""
    found = set()
    for key, access in routes.items():
        method, path = parse_route_key(key)
        if access.protected:
            found.add((method.lower(), path))
    return found


# Powertools' OpenAPI model stores the bounds of a parameter as floats: 2^63-1 as a float is 2^63, one past
# the column. A bound of the API is one of these or a small integer (exact as a float).
_EXACT_BOUNDS = {float(bound): bound for bound in (PG_INTEGER_MAX, PG_BIGINT_MAX)}
_BOUND_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _exact_integer(value: float) -> int:
    if value in _EXACT_BOUNDS:
        return _EXACT_BOUNDS[value]
    if not float(value).is_integer() or abs(value) > 2**53:
        raise ValueError(f"{value!r} is not an exact integer bound: add it to tools/openapi.py's bounds")
    return int(value)


def _integer_bounds(schema: dict[str, Any]) -> None:
    """Restore the exact integer bounds of an integer parameter's schema (or of its ``anyOf`` members)."""
    for member in (schema, *schema.get("anyOf", ())):
        if member.get("type") == "integer":
            for key in _BOUND_KEYS:
                if key in member:
                    member[key] = _exact_integer(member[key])


def _document(path: str, method: str, operation: dict[str, Any], *, authenticated: bool) -> None:
    responses = operation.setdefault("responses", {})
    for status in (*EVERY_ROUTE, *((401,) if authenticated else ())):
        responses[str(status)] = _error(status)
    for status in list(responses):
        if status[0] in "45":  # one schema, one wording per status
            responses[status] = _error(int(status))
    operation["responses"] = dict(sorted(responses.items()))
    if authenticated:
        operation["security"] = [{"session": []}]


def build() -> dict[str, Any]:
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": INFO,
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {"session": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
    for logical_id, props in sorted(functions().items()):
        if not any(e.get("Type") == "HttpApi" for e in (props.get("Events") or {}).values()):
            continue
        module = load_module(logical_id)
        app = getattr(module, "app", None)
        if app is None:
            continue
        part = json.loads(app.get_openapi_json_schema(title=INFO["title"], version=INFO["version"]))
        authenticated = _authenticated(module.ROUTES)
        for path, operations in part.get("paths", {}).items():
            for method, operation in operations.items():
                _document(path, method, operation, authenticated=(method, path) in authenticated)
                for parameter in operation.get("parameters", []):
                    _integer_bounds(parameter["schema"])
            spec["paths"].setdefault(path, {}).update(operations)
        spec["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
    schemas = spec["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    schemas.setdefault("Error", Error.model_json_schema())
    spec["paths"] = dict(sorted(spec["paths"].items()))
    spec["components"]["schemas"] = dict(sorted(schemas.items()))
    return spec


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.json is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not args.output.exists() or args.output.read_text() != text:
            print(f"{args.output} is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output} ({len(json.loads(text)['paths'])} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
