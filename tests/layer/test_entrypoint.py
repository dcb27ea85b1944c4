"""The entry point judges a request of its table before the resolver: 413, then 401 by the route's access
level, then the 422s; a refused request never reaches the route, carries the CORS headers the resolver
would add, leaves nothing in the resolver's context and is still logged with its correlation id."""

from __future__ import annotations

import json

import pytest
from helpers import ORIGIN, Answer
from pydantic import BaseModel
from sqlalchemy import text

from oss_tldr.api import create_app, lambda_entrypoint
from oss_tldr.api.auth import Access, current_principal, verified_claims
from tools.lambda_local import FakeLambdaContext, http_event, load_handler

EVIL = "https://evil.example"


class Thing(BaseModel):
    name: str


@pytest.fixture
def served():
    """An ad-hoc function: a SESSION route with a body, a SIGNED_TOKEN route, a PUBLIC route."""
    app = create_app()
    calls: list[str] = []

    @app.post("/things")
    def post_thing(body: Thing) -> dict[str, str]:
        calls.append("post")
        return {"name": body.name, "login": current_principal(app).login}

    @app.get("/things/<thing_id>")
    def get_thing(thing_id: str) -> dict[str, int]:
        calls.append("get")
        return {"user_id": verified_claims(app).user_id}

    @app.post("/open")
    def open_route() -> dict[str, bool]:
        calls.append("open")
        return {"ok": True}

    table = {
        "POST /things": Access.SESSION,
        "GET /things/{thing_id}": Access.SIGNED_TOKEN,
        "POST /open": Access.PUBLIC,
    }
    handler = lambda_entrypoint(app, table, max_body_bytes=100)

    def send(method: str, path: str, *, headers=None, body=None) -> Answer:
        event = http_event(method, path, headers={"origin": ORIGIN, **(headers or {})}, body=body)
        return Answer(handler(event, FakeLambdaContext()))

    send.app, send.calls = app, calls  # type: ignore[attr-defined]
    return send


def test_the_order_is_size_then_session_then_body_and_a_refusal_never_reaches_the_route(served, make_user):
    user = make_user(id=11, login="dora")
    json_type = {"content-type": "application/json"}
    assert served("POST", "/things", headers=json_type, body="x" * 101).status == 413
    assert served("POST", "/things", headers=json_type, body="[1]").status == 401
    assert served("POST", "/things", headers={**json_type, **user.headers}, body="[1]").status == 422
    text_type = {"content-type": "text/plain", **user.headers}
    assert (
        served("POST", "/things", headers=text_type, body='{"name": "a"}').json()["code"]
        == "validation_error"
    )
    assert served.calls == [] and served.app.context == {}
    ok = served("POST", "/things", headers={**json_type, **user.headers}, body='{"name": "a"}')
    assert (ok.status, ok.json()) == (200, {"name": "a", "login": "dora"})
    assert served.calls == ["post"] and served.app.context == {}


def test_a_signed_token_route_gets_its_claims_and_a_public_route_needs_nothing(served, make_user):
    user = make_user(id=12, login="erin")
    assert served("GET", "/things/7").status == 401
    assert served("GET", "/things/7", headers={"authorization": "Bearer not.a.token"}).status == 401
    assert served("GET", "/things/7", headers=user.headers).json() == {"user_id": 12}
    # A route without a body ignores its content type, as the resolver does.
    assert served("POST", "/open", headers={"content-type": "text/plain"}, body="[1]").json() == {"ok": True}
    assert served.calls == ["get", "open"]


def test_preflights_and_unknown_paths_go_to_the_resolver_without_authentication(served):
    preflight = served("OPTIONS", "/things", headers={"access-control-request-method": "POST"})
    assert preflight.status == 204 and preflight.headers["access-control-allow-origin"] == ORIGIN
    assert served("GET", "/nothing/here").status == 404
    assert served("GET", '/things/a"b').status == 404  # no route of the resolver matches a quote


@pytest.mark.parametrize("origins", [None, "*"])
@pytest.mark.parametrize("origin", [ORIGIN, EVIL, None])
def test_a_refused_request_carries_the_cors_headers_the_resolver_adds_to_its_own_errors(
    settings_env, origins, origin
):
    if origins is not None:
        settings_env(CORS_ALLOW_ORIGINS=origins)
    app = create_app()

    @app.get("/private")
    def private() -> dict[str, str]:
        return {"login": current_principal(app).login}

    handler = lambda_entrypoint(app, {"GET /private": Access.SESSION})
    headers = {"origin": origin} if origin else {}
    refused = handler(http_event("GET", "/private", headers=headers), FakeLambdaContext())
    by_the_resolver = handler(http_event("GET", "/unknown", headers=headers), FakeLambdaContext())
    by_the_route = app.resolve(http_event("GET", "/private", headers=headers), FakeLambdaContext())
    assert (refused["statusCode"], by_the_resolver["statusCode"], by_the_route["statusCode"]) == (
        401,
        404,
        401,
    )
    assert refused == by_the_route  # the same answer as when the route itself refuses
    cors = {k: v for k, v in refused["headers"].items() if k.startswith("Access-Control-")}
    assert cors == {k: v for k, v in by_the_resolver["headers"].items() if k.startswith("Access-Control-")}
    assert bool(cors) == (origin == ORIGIN or (origin is not None and origins == "*"))


def test_a_request_refused_by_a_database_error_is_logged_with_its_correlation_id(
    make_user, db, powertools_output
):
    user = make_user(id=13, login="fay")
    event = http_event("GET", "/api/v1/auth/me", route_key="GET /api/v1/auth/me", headers=user.headers)
    event["requestContext"]["requestId"] = "req-refused-by-the-database"
    db.execute(text("ALTER TABLE sessions RENAME COLUMN revoked_at TO revoked_at_hidden_by_test"))
    db.commit()
    try:
        answer = Answer(load_handler("AuthFunction")(event, FakeLambdaContext("AuthFunction")))
    finally:
        db.rollback()
        db.execute(text("ALTER TABLE sessions RENAME COLUMN revoked_at_hidden_by_test TO revoked_at"))
        db.commit()
    assert (answer.status, answer.json()["code"]) == (500, "internal_error")
    records = [json.loads(line) for line in powertools_output.getvalue().splitlines()]
    [error] = [r for r in records if r["message"] == "database error"]
    assert error["correlation_id"] == "req-refused-by-the-database"
