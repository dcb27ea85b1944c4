"""A fake GitHub served over real HTTP on 127.0.0.1, for the REST API and the OAuth host alike.

It keeps state (users and their tokens, repositories and who may see them, issues and pull requests),
serves realistic payloads, counts every request, and can be told to fail. Capability modules register
their routes on it (``tools/fakes/github_*.py``); the core here serves ``GET /repos/{owner}/{repo}``.

    fake = FakeGitHub.start()
    fake.add_user(login="octocat", token="gho_fake_octocat")
    fake.add_repo("octo/hello", private=True, visible_to={"gho_fake_octocat"})
    fake.fail("GET", r"^/repos/", status=500, times=1)
    fake.delay("GET", r"^/search/issues", seconds=3, times=1)   # a slow GitHub
    fake.count("GET", r"^/search/issues")      # requests seen so far
    fake.rename_repo("octo/hello", "octo/hi")   # REST answers 301 for the old name, GraphQL follows it

GraphQL (``POST /graphql``, tools/fakes/github_graphql.py) keeps its state here too: ``graphql_errors``
(what was wrong with the queries received), ``graphql_points`` (remaining points per token,
``set_graphql_points``) and ``graphql_partial`` (the next answer loses a field, with an error).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tools.fakes import server as http_server

PARTIAL_MESSAGE = (
    "Something went wrong while executing your query. This may be the result of a timeout, or it could "
    "be a GitHub bug. Please include `0000:0000:0000000:0000000:00000000` when reporting this issue."
)
RouteHandler = Callable[["FakeGitHub", "FakeRequest"], tuple[int, Any, dict[str, str]] | tuple[int, Any]]


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str]

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        for prefix in ("Bearer ", "token "):
            if auth.startswith(prefix):
                return auth[len(prefix) :]
        return None

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        ctype = self.headers.get("content-type", "")
        if "json" in ctype:
            return {k: str(v) for k, v in (self.json() or {}).items()}
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    times: int


@dataclass
class Delay:
    method: str
    pattern: re.Pattern[str]
    seconds: float
    times: int


@dataclass
class FakeUser:
    id: int
    login: str
    token: str
    name: str | None = None
    email: str | None = None
    type: str = "User"

    def payload(self, base: str) -> dict[str, Any]:
        return {
            "login": self.login,
            "id": self.id,
            "node_id": f"U_{self.id}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{self.id}?v=4",
            "html_url": f"https://github.com/{self.login}",
            "url": f"{base}/users/{self.login}",
            "type": self.type,
            "site_admin": False,
            "name": self.name,
            "email": self.email,
        }


@dataclass
class FakeRepo:
    id: int
    full_name: str
    private: bool = False
    visible_to: set[str] = field(default_factory=set)  # tokens that can see a private repo
    description: str | None = "A repository"
    language: str | None = "Python"
    stargazers_count: int = 42
    fork: bool = False
    archived: bool = False
    owner_type: str = "Organization"
    items: list[dict[str, Any]] = field(default_factory=list)  # issues and pull requests (search shape)
    timelines: dict[int, list[tuple[str, dt.datetime]]] = field(default_factory=dict)  # number -> events

    def visible(self, token: str | None) -> bool:
        return not self.private or (token is not None and token in self.visible_to)

    def payload(self) -> dict[str, Any]:
        owner, name = self.full_name.split("/")
        return {
            "id": self.id,
            "node_id": f"R_{self.id}",
            "name": name,
            "full_name": self.full_name,
            "private": self.private,
            "owner": {
                "login": owner,
                "id": 1000 + self.id,
                "type": self.owner_type,
                "avatar_url": f"https://avatars.githubusercontent.com/u/{1000 + self.id}?v=4",
                "html_url": f"https://github.com/{owner}",
            },
            "html_url": f"https://github.com/{self.full_name}",
            "description": self.description,
            "fork": self.fork,
            "archived": self.archived,
            "language": self.language,
            "stargazers_count": self.stargazers_count,
            "watchers_count": self.stargazers_count,
            "forks_count": 3,
            "open_issues_count": len([i for i in self.items if i.get("state") == "open"]),
            "default_branch": "main",
            "visibility": "private" if self.private else "public",
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2026-11-20T10:00:00Z",
            "pushed_at": "2026-11-20T10:00:00Z",
        }


class FakeGitHub:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], RouteHandler]] = []
        self._failures: list[Failure] = []
        self._delays: list[Delay] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(100)
        self.requests: list[
            tuple[str, str, dict[str, str], dict[str, str]]
        ] = []  # method, path, query, headers
        self.users: dict[str, FakeUser] = {}  # token -> user
        self.repos: dict[str, FakeRepo] = {}  # lower-case full_name -> repo
        self.repo_aliases: dict[str, FakeRepo] = {}  # lower-case former full_name -> renamed repo
        self.graphql_errors: list[dict[str, Any]] = []  # errors of the queries themselves (not arranged)
        self.graphql_points: dict[str, int] = {}  # token -> remaining GraphQL points (5000 an hour)
        self.graphql_resets: dict[str, dt.datetime] = {}  # token -> when its points refill
        self.graphql_partials: list[tuple[str, str, str | None]] = []  # (response key, message, type)
        self.state: dict[str, Any] = {}  # free space for capability modules
        self.rate_limit_remaining = 4999
        self.server: ThreadingHTTPServer | None = None
        self.route("GET", r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)$")(_get_repo)
        self.route("GET", r"^/repositories/(?P<id>\d+)$")(_get_repo_by_id)

    # --- lifecycle ------------------------------------------------------------------------
    @classmethod
    def start(cls) -> FakeGitHub:
        fake = cls()
        fake._register_capabilities()
        handler = type("Handler", (_Handler,), {"fake": fake})
        fake.server = http_server.serve(handler)
        return fake

    def _register_capabilities(self) -> None:
        import importlib
        import pkgutil

        from tools import fakes

        for info in pkgutil.iter_modules(fakes.__path__):
            if info.name.startswith("github_"):
                module = importlib.import_module(f"{fakes.__name__}.{info.name}")
                module.register(self)

    def stop(self) -> None:
        http_server.stop(self.server)

    @property
    def url(self) -> str:
        return http_server.url(self.server)

    # --- configuration --------------------------------------------------------------------
    def route(self, method: str, pattern: str) -> Callable[[RouteHandler], RouteHandler]:
        def register(fn: RouteHandler) -> RouteHandler:
            self._routes.append((method, re.compile(pattern), fn))
            return fn

        return register

    def next_id(self) -> int:
        return next(self._ids)

    def add_user(self, login: str, token: str, *, id: int | None = None, **extra: Any) -> FakeUser:
        user = FakeUser(id=id or self.next_id(), login=login, token=token, **extra)
        self.users[token] = user
        return user

    def add_repo(self, full_name: str, **extra: Any) -> FakeRepo:
        repo = FakeRepo(id=self.next_id(), full_name=full_name, **extra)
        self.repos[full_name.lower()] = repo
        return repo

    def rename_repo(self, old: str, new: str) -> FakeRepo:
        """Rename (or transfer) a repository: stored under ``new``, ``old`` remembered as GitHub does."""
        repo = self.repos.pop(old.lower())
        for item in repo.items:
            for holder in (item, item.get("pull_request") or {}):
                for key in ("url", "html_url", "diff_url", "patch_url"):
                    if isinstance(holder.get(key), str):
                        holder[key] = holder[key].replace(f"/{repo.full_name}/", f"/{new}/")
        repo.full_name = new
        self.repos[new.lower()] = repo
        self.repo_aliases[old.lower()] = repo
        return repo

    def resolve_repo(self, full_name: str) -> FakeRepo | None:
        """The repository by its name or a former one (renames followed)."""
        key = full_name.lower()
        return self.repos.get(key) or self.repo_aliases.get(key)

    def set_graphql_points(self, token: str, remaining: int, *, reset_at: dt.datetime | None = None) -> None:
        """The token's remaining GraphQL points, refilled to 5000 at ``reset_at`` (default: in an hour)."""
        with self._lock:
            self.graphql_points[token] = remaining
            self.graphql_resets[token] = reset_at or dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)

    def graphql_partial(
        self, alias_or_field: str, *, message: str = PARTIAL_MESSAGE, type: str | None = None
    ) -> None:
        """The next GraphQL answer nulls every field answered under that response key (an alias or a
        field name) and carries an error with its path: data and errors, as GitHub's partial results."""
        self.graphql_partials.append((alias_or_field, message, type))

    def fail(
        self,
        method: str,
        pattern: str,
        *,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` matching requests answer ``status`` instead of being served."""
        body = body if body is not None else {"message": f"fake failure {status}"}
        self._failures.append(Failure(method, re.compile(pattern), status, body, headers or {}, times))

    def delay(self, method: str, pattern: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` matching requests are answered only after ``seconds`` (a slow GitHub); the
        answer itself is whatever the request would get otherwise (a failure included)."""
        self._delays.append(Delay(method, re.compile(pattern), seconds, times))

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    def count(self, method: str | None = None, pattern: str | None = None) -> int:
        regex = re.compile(pattern) if pattern else None
        with self._lock:
            return sum(
                1
                for m, p, _, _ in self.requests
                if (method is None or m == method) and (regex is None or regex.search(p))
            )

    # --- serving --------------------------------------------------------------------------
    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        split = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        pause = 0.0
        with self._lock:
            self.requests.append((method, split.path, query, headers))
            for delay in self._delays:
                if delay.times > 0 and delay.method == method and delay.pattern.search(split.path):
                    delay.times -= 1
                    pause = delay.seconds
                    break
        if pause:
            time.sleep(pause)
        with self._lock:
            for failure in self._failures:
                if failure.times > 0 and failure.method == method and failure.pattern.search(split.path):
                    failure.times -= 1
                    return failure.status, failure.body, failure.headers
        for m, pattern, fn in reversed(self._routes):  # later registrations override earlier ones
            match = pattern.match(split.path)
            if m == method and match:
                result = fn(self, FakeRequest(method, split.path, query, headers, body, match))
                status, payload = result[0], result[1]
                extra = result[2] if len(result) > 2 else {}  # type: ignore[misc]
                return status, payload, dict(extra)
        return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}


_REPO_NOT_FOUND = {
    "message": "Not Found",
    "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository",
}


def _get_repo(fake: FakeGitHub, req: FakeRequest) -> tuple[int, Any, dict[str, str]]:
    asked = f"{req.match['owner']}/{req.match['repo']}".lower()
    repo = fake.repos.get(asked)
    if repo is None and (renamed := fake.repo_aliases.get(asked)) and renamed.visible(req.token):
        # As recorded (octokit/fixtures, rename-repository): 301 to the id-based URL, a small JSON body.
        location = f"{fake.url}/repositories/{renamed.id}"
        body = {
            "message": "Moved Permanently",
            "url": location,
            "documentation_url": "https://docs.github.com/v3/#http-redirects",
        }
        return 301, body, {"location": location}
    if repo is None or not repo.visible(req.token):
        return 404, _REPO_NOT_FOUND, {}
    return 200, repo.payload(), {}


def _get_repo_by_id(fake: FakeGitHub, req: FakeRequest) -> tuple[int, Any]:
    repo = next((r for r in fake.repos.values() if r.id == int(req.match["id"])), None)
    if repo is None or not repo.visible(req.token):
        return 404, _REPO_NOT_FOUND
    return 200, repo.payload()


class _Handler(http_server.JsonHandler):
    fake: FakeGitHub

    def _serve(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, extra = self.fake.handle(self.command, self.path, headers, self.body())
        reset = int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp())
        rate = {
            "x-ratelimit-limit": extra.pop("x-ratelimit-limit", "5000"),
            "x-ratelimit-remaining": extra.pop("x-ratelimit-remaining", str(self.fake.rate_limit_remaining)),
            "x-ratelimit-reset": extra.pop("x-ratelimit-reset", str(reset)),
        }
        self.answer(status, payload, {**rate, **extra}, "application/json; charset=utf-8")

    do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _serve
