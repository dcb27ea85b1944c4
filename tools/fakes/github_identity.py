"""GitHub OAuth and the signed-in user's API on the fake GitHub.

* ``GET /login/oauth/authorize`` plays the browser's consent screen: it records ``code -> (code_challenge,
  client_id, redirect_uri, user)`` and answers 302 to ``redirect_uri?code=..&state=..``. The consenting
  user is ``fake.state["oauth_user"]`` (a token) or, by default, the first user added.
* ``POST /login/oauth/access_token`` checks the client id and secret, that the code is known and unused,
  that ``redirect_uri`` matches, and that ``S256(code_verifier) == code_challenge``; it answers JSON (the
  client sends ``Accept: application/json``), with ``{"error": ...}`` on 200 as GitHub does.
* ``GET /user``, ``GET /user/repos``, ``GET /search/repositories`` with the caller's token.

    fake.state["oauth_client"] = ("fake-client-id", "fake-client-secret")   # the defaults
    fake.state["oauth_exchanges"]  # the bodies the exchange endpoint received
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import urlencode

from tools.fakes.github import FakeGitHub, FakeRequest

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"
_UNAUTHORIZED = {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _consenting_user(fake: FakeGitHub, req: FakeRequest) -> Any:
    token = req.query.get("as_token") or fake.state.get("oauth_user")
    if token:
        return fake.users.get(token)
    return next(iter(fake.users.values()), None)


def _authorize(fake: FakeGitHub, req: FakeRequest) -> tuple[int, Any, dict[str, str]]:
    q = req.query
    client_id, _ = fake.state.get("oauth_client", (CLIENT_ID, CLIENT_SECRET))
    if q.get("client_id") != client_id:
        return 404, {"message": "unknown client_id"}, {}
    if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
        return 400, {"message": "PKCE S256 code_challenge required"}, {}
    user = _consenting_user(fake, req)
    if user is None:
        return 403, {"message": "nobody to consent"}, {}
    code = "fake_code_" + secrets.token_hex(8)
    fake.state.setdefault("oauth_codes", {})[code] = {
        "code_challenge": q["code_challenge"],
        "client_id": q["client_id"],
        "redirect_uri": q.get("redirect_uri"),
        "user": user,
        "scope": q.get("scope", ""),
        "used": False,
    }
    target = q.get("redirect_uri") or "http://127.0.0.1/callback"
    location = f"{target}?{urlencode({'code': code, 'state': q.get('state', '')})}"
    return 302, {"location": location}, {"location": location}


def _access_token(fake: FakeGitHub, req: FakeRequest) -> tuple[int, Any]:
    form = req.form()
    fake.state.setdefault("oauth_exchanges", []).append(
        {"body": form, "accept": req.headers.get("accept", "")}
    )
    client_id, client_secret = fake.state.get("oauth_client", (CLIENT_ID, CLIENT_SECRET))
    if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
        return 200, {"error": "incorrect_client_credentials"}
    grant = fake.state.get("oauth_codes", {}).get(form.get("code", ""))
    if grant is None or grant["used"]:
        return 200, {
            "error": "bad_verification_code",
            "error_description": "The code is incorrect or expired.",
        }
    grant["used"] = True
    if grant["redirect_uri"] and form.get("redirect_uri") not in (None, grant["redirect_uri"]):
        return 200, {"error": "redirect_uri_mismatch"}
    verifier = form.get("code_verifier")
    if not verifier or _s256(verifier) != grant["code_challenge"]:
        return 200, {"error": "invalid_grant", "error_description": "PKCE verification failed."}
    return 200, {
        "access_token": grant["user"].token,
        "token_type": "bearer",
        "scope": grant["scope"].replace(" ", ","),
    }


def _user(fake: FakeGitHub, req: FakeRequest) -> tuple[int, Any]:
    user = fake.users.get(req.token or "")
    if user is None:
        return 401, _UNAUTHORIZED
    return 200, user.payload(fake.url)


def _per_page(req: FakeRequest, default: int) -> int:
    try:
        return max(1, min(100, int(req.query.get("per_page", default))))
    except ValueError:
        return default


def _user_repos(fake: FakeGitHub, req: FakeRequest) -> tuple[int, Any]:
    user = fake.users.get(req.token or "")
    if user is None:
        return 401, _UNAUTHORIZED
    mine = [
        repo.payload()
        for repo in fake.repos.values()
        if repo.full_name.split("/")[0].lower() == user.login.lower() or user.token in repo.visible_to
    ]
    mine.sort(key=lambda r: r["updated_at"], reverse=True)
    return 200, mine[: _per_page(req, 30)]


def _search_repositories(fake: FakeGitHub, req: FakeRequest) -> tuple[int, Any]:
    if req.token is not None and req.token not in fake.users:
        return 401, _UNAUTHORIZED
    query = req.query.get("q", "").strip()
    if not query:
        return 422, {"message": "Validation Failed", "errors": [{"field": "q", "code": "missing"}]}
    terms = [t.lower() for t in query.split() if ":" not in t]
    found = [
        repo.payload()
        for repo in fake.repos.values()
        if repo.visible(req.token)
        and all(t in f"{repo.full_name} {repo.description or ''}".lower() for t in terms)
    ]
    found.sort(key=lambda r: (-r["stargazers_count"], r["full_name"]))
    return 200, {"total_count": len(found), "incomplete_results": False, "items": found[: _per_page(req, 30)]}


def register(fake: FakeGitHub) -> None:
    fake.route("GET", r"^/login/oauth/authorize$")(_authorize)
    fake.route("POST", r"^/login/oauth/access_token$")(_access_token)
    fake.route("GET", r"^/user$")(_user)
    fake.route("GET", r"^/user/repos$")(_user_repos)
    fake.route("GET", r"^/search/repositories$")(_search_repositories)
