"""``make openapi``: write docs/openapi.json, the OpenAPI description of every API function.

It is generated from the handlers' Powertools resolvers (their pydantic request and response models),
so it cannot drift from the code; a test checks that the committed file is current and that its
routes are exactly template.yaml's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tools.lambda_local import ROOT, functions, load_module

OUTPUT = ROOT / "docs" / "openapi.json"
INFO = {
    "title": "OSS TL;DR API",
    "version": "1.0.0",
    "description": "Reports on what happened in a GitHub repository, shared across users. "
    "Errors are JSON {detail, code}. See docs/api.md.",
}


# Routes that need no session; every other route takes `Authorization: Bearer <session token>`.
PUBLIC = {
    "/api/v1/health",
    "/api/v1/auth/github/login",
    "/api/v1/auth/github/callback",
    "/api/v1/auth/validate",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail", "code"],
    "properties": {
        "detail": {"type": "string", "description": "A human sentence, safe to show."},
        "code": {"type": "string", "description": "A stable snake_case machine code."},
    },
    "title": "Error",
}
ERRORS = {
    "400": "Bad input (repository URL, timeframe, section, malformed JSON).",
    "401": "Missing, expired or invalid session.",
    "404": "Not found (also a private repository the caller cannot see).",
    "422": "The body or parameters do not validate.",
    "429": "Quota or upstream rate limit; see Retry-After.",
    "502": "GitHub or OpenAI unavailable.",
    "503": "The database is unavailable.",
}


def _document_errors(path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status, description in ERRORS.items():
        if status == "401" and path in PUBLIC:
            continue
        responses[status] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    if path not in PUBLIC:
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
        app = getattr(load_module(logical_id), "app", None)
        if app is None:
            continue
        part = json.loads(app.get_openapi_json_schema(title=INFO["title"], version=INFO["version"]))
        for path, operations in part.get("paths", {}).items():
            spec["paths"].setdefault(path, {}).update(operations)
        spec["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            _document_errors(path, operation)
    schemas = spec["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    schemas["Error"] = ERROR_SCHEMA
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
