"""Issue 7, finding 10: docs/openapi.json describes what the API does, checked against the running API.

Schemathesis generates requests for every operation of the description (positive and negative data, all
of its checks) and sends them to the local API (`make dev`'s server) with the fake GitHub and the fake
OpenAI, signed in as an administrator so that the admin routes are reached too. Every response must be
documented (status, content type, schema), no response is a 5xx, and every error is exactly
``{"detail", "code"}``.

Bounded for `make test` (``SCHEMATHESIS_MAX_EXAMPLES``, default 5 per operation and phase); `make fuzz`
runs the same with many more (``FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method

from tools import openapi

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5"))
ADMIN_ID, ADMIN_LOGIN = 9001, "root"

CONFIG = SchemathesisConfig.from_dict(
    {
        # Text never holds NUL or a lone surrogate (a documented 422 invalid_text, tested case by case in
        # tests/contract/test_hostile_input.py): the generator is told so, as for any such API.
        "generation": {"max-examples": MAX_EXAMPLES, "mode": "all", "allow-x00": False, "codec": "utf-8"},
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(openapi.build(), config=CONFIG)

# Values that are valid only as the API issued them: a drawn one matches the schema (it is opaque) and is
# refused with a 400 by design, so these cases are not "valid data the API should accept".
ISSUED_BY_THE_API = {
    ("GET", "/api/v1/users/me/reports"): "cursor",  # a previous page's next_cursor
    ("GET", "/api/v1/reports"): "cursor",
    ("POST", "/api/v1/auth/github/callback"): "state",  # a state from GET /auth/github/login
}


# API Gateway's HTTP API answers a method no route has with a 404 (the devserver does the same, and the
# contract's SPA relies on a JSON 404 for unknown routes), not the 405 this check wants.
EXCLUDED_CHECKS = [unsupported_method]


@pytest.fixture
def api_base(start_local_api, fake_github, fake_openai, settings_env) -> str:
    settings_env(
        ADMIN_LOGINS=ADMIN_LOGIN,
        GITHUB_MAX_RETRIES="0",
        GITHUB_CLIENT_ID="fake-client-id",
        GITHUB_CLIENT_SECRET="fake-client-secret",
        OAUTH_REDIRECT_URI="http://localhost:5173/auth/callback",
    )
    fake_github.add_repo("octo/hello", description="Hello world")
    return start_local_api()


_SESSION: dict[str, str] = {}


@schema.auth(refresh_interval=None)
class _SessionToken:
    """The signed-in administrator's session token, as the description's bearer scheme (so that the
    ``ignored_auth`` check knows what to take away)."""

    def get(self, case: Any, ctx: Any) -> str:
        return _SESSION.get("token", "not-signed-in-yet")

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def signed_in(make_user) -> None:
    _SESSION["token"] = make_user(id=ADMIN_ID, login=ADMIN_LOGIN, github_token="gho_fake_root_st").token


def _uses_an_issued_value(case: Any) -> bool:
    name = ISSUED_BY_THE_API.get((case.method.upper(), case.path))
    if name == "state":
        return True  # no drawn state was ever issued: the callback answers 400 for every one
    return name is not None and bool((case.query or {}).get(name))


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("SCHEMATHESIS_RANDOM") is None,  # `make test` is reproducible; fuzz is not
)
def test_the_api_does_what_its_openapi_description_says(case, api_base, signed_in):
    excluded = [*EXCLUDED_CHECKS, *([positive_data_acceptance] if _uses_an_issued_value(case) else [])]
    response = case.call_and_validate(base_url=api_base, excluded_checks=excluded)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"detail", "code"}, (case.method, case.path, body)
