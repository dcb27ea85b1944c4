"""GitHub's published GraphQL schema: pinned, verified, cached outside git, built despite its defects."""

from __future__ import annotations

import subprocess
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import graphql
import pytest

from tools import github_schema
from tools.fakes import server


def test_the_schema_cache_is_git_ignored() -> None:
    root = Path(github_schema.__file__).resolve().parents[1]
    command = ["git", "check-ignore", "-q", str(github_schema.cache_path())]
    ignored = subprocess.run(command, cwd=root, check=False)  # noqa: S603 - git on our own checkout
    assert ignored.returncode == 0


def test_the_published_schema_validates_queries_despite_its_known_sdl_defects(
    github_graphql_schema: Any,
) -> None:
    good = graphql.parse('{ repository(owner: "o", name: "n") { nameWithOwner } }')
    bad = graphql.parse('{ repository(owner: "o", name: "n") { fullName } }')

    assert graphql.validate(github_graphql_schema, good) == []
    assert [e.message for e in graphql.validate(github_graphql_schema, bad)] == [
        "Cannot query field 'fullName' on type 'Repository'. Did you mean 'name'?"
    ]
    assert github_schema.github_schema() is github_graphql_schema  # built once per process


def test_an_unreachable_registry_is_an_error_naming_the_url(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setattr(github_schema, "CACHE_ROOT", tmp_path)
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", "http://127.0.0.1:9/")

    with pytest.raises(github_schema.SchemaUnavailableError) as raised:
        github_schema.schema_sdl()

    assert "http://127.0.0.1:9/@octokit/graphql-schema/-/graphql-schema-15.26.1.tgz" in str(raised.value)
    assert not any(tmp_path.iterdir())


def test_a_tarball_that_fails_the_integrity_check_is_not_cached(monkeypatch: Any, tmp_path: Path) -> None:
    class Registry(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "9")
            self.end_headers()
            self.wfile.write(b"not a tgz")

        def log_message(self, *_: Any) -> None:
            pass

    registry = server.serve(Registry)
    monkeypatch.setattr(github_schema, "CACHE_ROOT", tmp_path)
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", server.url(registry))
    try:
        with pytest.raises(github_schema.SchemaUnavailableError, match="integrity sha512-"):
            github_schema.schema_sdl()
    finally:
        server.stop(registry)
    assert not github_schema.cache_path().exists()
