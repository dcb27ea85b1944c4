"""The local API (`make dev`): HTTP in, API Gateway v2 events to the handlers, routes from template.yaml."""

from __future__ import annotations

import httpx

from tools.lambda_local import find_route, http_event, load_routes


def test_health_over_http(local_api):
    response = httpx.get(f"{local_api}/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_unknown_route_is_404_json(local_api):
    response = httpx.get(f"{local_api}/api/v1/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_preflight_answers_with_cors_headers(local_api):
    response = httpx.options(
        f"{local_api}/api/v1/health",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert {"GET", "POST", "DELETE"} <= set(response.headers["access-control-allow-methods"].split(","))


def test_preflight_from_unknown_origin_gets_no_cors_headers(local_api):
    response = httpx.options(
        f"{local_api}/api/v1/health",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_error_responses_carry_cors_headers(local_api):
    response = httpx.get(f"{local_api}/api/v1/nope", headers={"Origin": "http://127.0.0.1:5173"})
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:5173"


def test_routes_come_from_template():
    routes = load_routes()
    found = find_route(routes, "GET", "/api/v1/health")
    assert found is not None and found[0].function == "HealthFunction"


def test_http_event_is_payload_v2():
    event = http_event(
        "GET",
        "/api/v1/health",
        route_key="GET /api/v1/health",
        query="a=1&a=2&b=",
        headers={"Cookie": "x=1; y=2", "User-Agent": "t"},
    )
    assert event["version"] == "2.0"
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["cookies"] == ["x=1", "y=2"]
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["rawQueryString"] == "a=1&a=2&b="
