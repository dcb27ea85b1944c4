"""GitHub's published GraphQL schema, for the fake GitHub's ``POST /graphql`` (tools/fakes/github_graphql.py).

The schema is the SDL that the npm package ``@octokit/graphql-schema`` ships (generated from GitHub's own
introspection). It is downloaded once, at a pinned version whose integrity is checked, into a git-ignored
cache (``.cache/github-graphql-schema/<version>/schema.graphql`` at the repository root) and read from there
afterwards, offline. Nothing of it is committed.

    python -m tools.github_schema    # fetch it now (the tests do on first use); prints path and timings

Building: the published SDL defines two ``EnterpriseOwnerInfo`` fields twice and some deprecated fields
disagree with their interfaces, so the schema is built with ``assume_valid_sdl`` and ``assume_valid`` (the
second keeps ``graphql.validate`` from rejecting the schema itself). Measured on the 1.2 MB SDL: parsing
with locations 1.05 s, without 0.72 s; building 0.25-0.31 s. The schema's own locations serve nobody
(validation errors point into the query), so it is parsed without them: about 1 s, once per process
(``github_schema`` is cached). A pickled schema would unpickle in 0.58 s, saving 0.4 s per process at the
price of a second, graphql-core-version-bound cache and a raised recursion limit: not worth it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import os
import tarfile
import time
from pathlib import Path

import graphql
import httpx

VERSION = "15.26.1"
INTEGRITY = "sha512-RFDC2MpRBd4AxSRvUeBIVeBU7ojN/SxDfALUd7iVYOSeEK3gZaqR2MGOysj4Zh2xj2RY5fQAUT+Oqq7hWTraMA=="
DEFAULT_REGISTRY = "https://registry.npmjs.org"
CACHE_ROOT = Path(__file__).resolve().parents[1] / ".cache" / "github-graphql-schema"
_MEMBER = "package/schema.graphql"


class SchemaUnavailableError(RuntimeError):
    """The schema is neither cached nor downloadable (no network, a registry error, a corrupt tarball)."""


def tarball_url() -> str:
    """The pinned tarball on the npm registry (``NPM_CONFIG_REGISTRY`` overrides it, as for npm)."""
    registry = (os.environ.get("NPM_CONFIG_REGISTRY") or DEFAULT_REGISTRY).rstrip("/")
    return f"{registry}/@octokit/graphql-schema/-/graphql-schema-{VERSION}.tgz"


def cache_path() -> Path:
    return CACHE_ROOT / VERSION / "schema.graphql"


def _download(url: str) -> bytes:
    try:
        response = httpx.get(url, timeout=60, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as error:
        raise SchemaUnavailableError(
            f"cannot download GitHub's GraphQL schema from {url} ({error}); it is cached at {cache_path()} "
            "after one successful download (set NPM_CONFIG_REGISTRY for a mirror)"
        ) from error
    return response.content


def _verify(data: bytes, url: str) -> None:
    algorithm, _, expected = INTEGRITY.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise SchemaUnavailableError(f"{url}: integrity {algorithm}-{actual}, expected {INTEGRITY}")


def _extract(data: bytes, url: str) -> str:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        member = archive.extractfile(_MEMBER)
        if member is None:
            raise SchemaUnavailableError(f"{url}: no {_MEMBER} in the tarball")
        return member.read().decode()


def schema_sdl() -> str:
    """The SDL of the pinned version: from the cache, else downloaded, verified and cached."""
    path = cache_path()
    if path.exists():
        return path.read_text()
    url = tarball_url()
    data = _download(url)
    _verify(data, url)
    sdl = _extract(data, url)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")  # parallel sessions never see half a file
    partial.write_text(sdl)
    os.replace(partial, path)
    return sdl


@functools.cache
def github_schema() -> graphql.GraphQLSchema:
    """GitHub's schema, built once per process (about 1 s, see the module docstring)."""
    return graphql.build_schema(schema_sdl(), assume_valid=True, assume_valid_sdl=True, no_location=True)


def main() -> None:
    started = time.perf_counter()
    schema_sdl()
    fetched = time.perf_counter()
    schema = github_schema()
    built = time.perf_counter()
    print(
        f"{cache_path()}: {len(schema.type_map)} types; "
        f"fetch {fetched - started:.2f} s, build {built - fetched:.2f} s"
    )


if __name__ == "__main__":
    main()
