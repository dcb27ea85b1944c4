"""Each function's route table (route key -> Access) is the one place that decides authentication: it must
name exactly the routes template.yaml gives the function and its resolver serves, and the matcher built from
it must find a route exactly when the resolver does. Nothing in the repository reads Powertools' privates."""

from __future__ import annotations

import json
import re

import pytest

from oss_tldr.api.auth import Access
from oss_tldr.api.routes import RouteMatcher, parse_route_key
from tools.lambda_local import ROOT, FakeLambdaContext, http_event, load_module, load_routes

API_FUNCTIONS = sorted({route.function for route in load_routes()})


@pytest.mark.parametrize("logical_id", API_FUNCTIONS)
def test_a_functions_table_names_exactly_its_template_routes_and_its_resolvers_routes(logical_id):
    module = load_module(logical_id)
    table = set(module.ROUTES)
    template = {route.route_key for route in load_routes() if route.function == logical_id}
    spec = module.app.get_openapi_schema()
    served = {
        f"{method.upper()} {path}"
        for path, item in (spec.paths or {}).items()
        for method in ("get", "post", "put", "patch", "delete")
        if getattr(item, method) is not None
    }
    assert table == template, "the route table and template.yaml disagree"
    assert table == served, "the route table and the resolver's routes disagree"
    assert all(isinstance(access, Access) for access in module.ROUTES.values())


def test_every_route_but_sign_in_validation_health_and_the_webhook_needs_a_session():
    public = {
        key
        for route in load_routes()
        for key, access in load_module(route.function).ROUTES.items()
        if access is Access.PUBLIC
    }
    assert public == {
        "GET /api/v1/health",
        "GET /api/v1/auth/github/login",
        "POST /api/v1/auth/github/callback",
        "POST /api/v1/auth/validate",
        "POST /webhooks/github",  # authenticated by its signature (tests/webhooks), not a session
    }


# Segments around one character each: what a hostile path can put in a parameter.
_CHARACTERS = [chr(c) for c in range(0x20, 0x7F) if chr(c) != "/"] + ["é", "你", "\u00a0", "\u2028", "\t"]


@pytest.mark.parametrize("logical_id", API_FUNCTIONS)
def test_the_matcher_finds_a_route_exactly_when_the_resolver_does(logical_id):
    """A path the resolver would answer 404 must not be refused 401/422 by the entry point first. Without
    a session, a matched route answers 401 or 422 (it authenticates on its own), an unmatched one 404."""
    module = load_module(logical_id)
    matcher = RouteMatcher(module.ROUTES)
    for key in module.ROUTES:
        method, template = parse_route_key(key)
        if "{" not in template:
            continue
        for character in _CHARACTERS:
            path = re.sub(r"\{\w+\}", f"a{character}b", template, count=1)
            path = re.sub(r"\{\w+\}", "x", path)
            resolved = module.app.resolve(http_event(method, path), FakeLambdaContext(logical_id))
            assert (matcher.match(method, path) is not None) == (resolved["statusCode"] != 404), (
                method,
                path,
                resolved["statusCode"],
            )


def test_a_route_with_fewer_parameters_wins_and_the_method_counts():
    matcher = RouteMatcher(
        {
            "GET /r/{id}": Access.SESSION,
            "GET /r/new": Access.PUBLIC,
            "GET /r/{id}/{part}": Access.SIGNED_TOKEN,
        }
    )
    assert matcher.match("GET", "/r/new").access is Access.PUBLIC
    assert matcher.match("GET", "/r/5").access is Access.SESSION
    assert matcher.match("GET", "/r/5/prs").key == "GET /r/{id}/{part}"
    assert matcher.match("POST", "/r/new") is None
    assert matcher.match("GET", "/r/5/") is None
    assert matcher.match("GET", "/r") is None
    assert matcher.match("OPTIONS", "/r/5") is None


@pytest.mark.parametrize(
    "key", ["/x", "ANY /x", "GET x", "GET /x/{proxy+}", "OPTIONS /x", "$default", "GET /a b", "GET /x/{y"]
)
def test_a_route_key_is_a_method_and_a_path_template(key):
    with pytest.raises(ValueError, match="route key"):
        RouteMatcher({key: Access.SESSION})


# What reading Powertools' private API looked like (the resolver's route lists, its validation middleware,
# the matched route in its context): Powertools reworked exactly this in 2025.
_PRIVATE = [
    "app._",
    "._get_body",
    'context["_route"]',
    "context['_route']",
    "_router_middlewares",
    "_static_routes",
    "_dynamic_routes",
    ".dependant",
    "_request_validation_middleware",
]


def test_no_code_in_the_repository_reads_a_private_powertools_attribute():
    this = ROOT / "tests" / "layer" / "test_route_tables.py"
    sources = [
        path
        for folder in ("layers", "functions", "tools", "bench", "tests", "migrations")
        for path in (ROOT / folder).rglob("*.py")
        if path != this and ".venv" not in path.parts and "site-packages" not in path.parts
    ]
    assert len(sources) > 50
    found = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in sources
        for needle in _PRIVATE
        if needle in path.read_text(encoding="utf-8")
    ]
    assert found == []


def test_the_openapi_description_marks_exactly_the_tables_protected_routes():
    spec = json.loads((ROOT / "docs" / "openapi.json").read_text())
    secured = {
        f"{method.upper()} {path}"
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if op.get("security") == [{"session": []}] and "401" in op["responses"]
    }
    protected = {
        key
        for route in load_routes()
        for key, access in load_module(route.function).ROUTES.items()
        if access.protected
    }
    assert secured == protected and len(protected) >= 15
