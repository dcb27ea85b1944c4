"""docs/openapi.json is generated from the handlers and must match them and template.yaml."""

from __future__ import annotations

import json
import re

from tools import openapi
from tools.lambda_local import load_routes


def test_committed_openapi_is_current():
    committed = json.loads(openapi.OUTPUT.read_text())
    assert committed == openapi.build(), "docs/openapi.json is stale: run `make openapi` and commit it"


def test_handler_routes_are_exactly_the_template_routes():
    spec = openapi.build()
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    declared = {(r.method, r.path) for r in load_routes()}
    assert documented == declared


def test_every_error_response_is_detail_and_code():
    spec = openapi.build()
    for path, ops in spec["paths"].items():
        for op in ops.values():
            for status, response in op["responses"].items():
                if re.match(r"^[45]", status):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, status)
