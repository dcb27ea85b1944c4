# ruff: noqa: F811 - the fixtures imported from test_hardening_github are parameters by design
"""Issue 7, second pass: the cases an adversarial review of the first fixes still broke, through the local
API with the fakes and the embedded Postgres. "Another container's generation" is a lease claimed in the
database (``jobs.claim``), as a concurrent Lambda would hold it: the local API runs one request at a time.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from fixtures_identity import Account
from sqlalchemy import select
from test_hardening_github import (  # noqa: F401 - fixtures
    BOB_GH,
    _assert_error,
    _prepare_callback,
    _rows,
    api,
    gh,
)
from test_hardening_github import USERS as HARDENING_USERS

from oss_tldr.db.models import User
from oss_tldr.reports import jobs
from oss_tldr.reports.models import CacheKey, JobFailure
from oss_tldr.windows import window_for

CAROL_GH = "gho_fake_carol_outsider"
LAST_WEEK = {"timeframe": "last_week"}

# carol is an outsider: a valid session, a GitHub token that cannot see octo/secret.
USERS = HARDENING_USERS.with_accounts(carol=Account(603, CAROL_GH, on_github=True))


def _claim_in_flight(repo: str, owner_id: int) -> tuple[CacheKey, object]:
    """Another container's generation of ``repo`` is running: a live lease and an in-progress job."""
    window = window_for("last_week")
    key = CacheKey(repo, "last_week", window.start, window.end)
    job = jobs.claim(key, lease=dt.timedelta(seconds=90), requested_by=owner_id, force=False)
    assert job is not None
    return key, job


def _fail_later(key: CacheKey, job, failure: JobFailure, after: float) -> threading.Thread:
    def run() -> None:
        time.sleep(after)
        jobs.fail(key, job, failure)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# --------------------------------------------------------------------------------- finding 4
@pytest.mark.parametrize("route", ["section", "generate"])
@pytest.mark.parametrize("owner_lookup", ["done", "hanging"])
def test_outsider_following_a_generation_of_a_repository_not_yet_known_is_answered_without_waiting_for_it(
    api, gh, alice, carol, db, settings_env, monkeypatch, route, owner_lookup
):
    """The owner's generation of private octo/secret runs and no row is stored under the asked name: its
    lookup is done (the repository was asked by an old name) or still hanging. The outsider looks it up
    with its own token — the missing repository's 404 — as soon as the owner's lookup is done, or after the
    lookup grace, instead of following the whole generation (REPORT_WAIT_SECONDS: 20 s here)."""
    from oss_tldr.reports import visibility

    settings_env(REPORT_WAIT_SECONDS="20")
    monkeypatch.setattr(visibility, "UNKNOWN_REPOSITORY_GRACE_SECONDS", 1.0)
    key, job = _claim_in_flight("octo/secret", alice.id)
    if owner_lookup == "done":
        jobs.renew(key, job, lease=dt.timedelta(seconds=90), progress=visibility.LOOKED_UP, message="found")

    def ask(repo: str):
        if route == "section":
            return api.get(f"/reports/{repo}/prs", params=LAST_WEEK, headers=carol.headers)
        return api.post("/reports/generate", json={"repo_url": repo}, headers=carol.headers)

    missing = ask("octo/nothing-here")
    before = _rows(db)
    started = time.monotonic()
    secret = ask("octo/secret")
    took = time.monotonic() - started
    assert _assert_error(secret, 404) == _assert_error(missing, 404)
    assert took < 10, took  # the wait would have been 20 s
    assert gh.count("GET", r"^/repos/octo/secret$") == 1  # carol's own lookup
    assert gh.count("POST", r"^/graphql$") == 1  # the missing repository's generation, none for octo/secret
    assert _rows(db) == before


def test_followers_of_a_new_public_repositorys_generation_wait_for_its_lookup_instead_of_asking_github(
    api, gh, alice, bob, db, monkeypatch
):
    """While the generator is still looking a repository up (its one GraphQL request, which stores the
    row: its progress reaches LOOKED_UP after that), a follower asks GitHub nothing: the generator's row
    will say whether it is public. Here the generator is held in its request for longer than a follower's
    first polls; the follower's answer comes from its generation."""
    from oss_tldr.reports import visibility

    key, job = _claim_in_flight("octo/hello", alice.id)
    monkeypatch.setattr(visibility, "UNKNOWN_REPOSITORY_GRACE_SECONDS", 30.0)

    def owner_finishes_lookup_late() -> None:
        from oss_tldr.reports import access

        time.sleep(1.5)
        # As a real lookup does: the row first, then the progress that says it is there (a follower that
        # read LOOKED_UP without the row would take it for a renamed repository and ask GitHub).
        access.upsert_repository(gh.repos["octo/hello"].payload(), asked="octo/hello")
        jobs.renew(key, job, lease=dt.timedelta(seconds=90), progress=visibility.LOOKED_UP, message="found")
        jobs.abandon(key, job)  # and then its token is refused: the follower generates itself

    thread = threading.Thread(target=owner_finishes_lookup_late, daemon=True)
    thread.start()
    gh.reset_counts()
    response = api.get("/reports/octo/hello/prs", params=LAST_WEEK, headers=bob.headers)
    thread.join()
    assert response.status_code == 200, response.text
    # One generation's worth (the one GraphQL request) by bob, no REST lookup while following.
    assert gh.count("POST", r"^/graphql$") == 1 and gh.count("GET", r"^/repos/octo/hello$") == 0
    assert gh.count() == 1 and gh.graphql_errors == []
    assert gh.requests[-1][3].get("authorization") == f"Bearer {BOB_GH}"


# --------------------------------------------------------------------------------- findings 7 and 9
def test_a_waiter_does_not_inherit_the_generators_deadline(api, gh, alice, bob, db):
    """The generator ran out of *its* request's time (503 deadline_exceeded); a waiter still within its own
    deadline generates with its own request instead of answering the generator's 503."""
    key, job = _claim_in_flight("octo/hello", alice.id)
    failure = JobFailure(
        detail="The request ran out of time waiting for an upstream service; try again shortly.",
        code="deadline_exceeded",
        status=503,
        retry_after=5,
    )
    thread = _fail_later(key, job, failure, after=1.0)
    response = api.get("/reports/octo/hello/prs", params=LAST_WEEK, headers=bob.headers)
    thread.join()
    assert response.status_code == 200, response.text
    assert response.json()["cached"] is False


# --------------------------------------------------------------------------------- finding 8
def test_refused_forced_requests_of_outsiders_and_tokenless_users_write_nothing(
    api, gh, alice, carol, make_user, db
):
    """A forced request that is refused (a private repository the caller cannot see, a missing one, a
    user without a GitHub token) gives its quota back and leaves no ``report_force_usage`` row either."""
    assert api.post(
        "/users/me/repositories", json={"repo_url": "octo/secret"}, headers=alice.headers
    ).is_success
    tokenless = make_user(id=604, login="dave", github_token=None)
    before = _rows(db)
    answers = []
    for who in (carol, tokenless):
        for repo in ("octo/secret", "octo/nothing-here"):
            query = {**LAST_WEEK, "force": "true"}
            answers.append(api.get(f"/reports/{repo}/prs", params=query, headers=who.headers))
            answers.append(
                api.post("/reports/generate", json={"repo_url": repo, "force": True}, headers=who.headers)
            )
    bodies = [(r.status_code, r.text) for r in answers]
    assert all(status in (401, 404) for status, _ in bodies), bodies
    for k in (0, 4):  # the private repository's answers are the missing repository's
        assert bodies[k] == bodies[k + 2] and bodies[k + 1] == bodies[k + 3], bodies
    after = _rows(db)
    assert after == before, {t: (before[t], after[t]) for t in after if after[t] != before[t]}


# --------------------------------------------------------------------------------- finding 2
HOSTILE_AVATARS = [
    "https://avatars.githubusercontent.com.evil.tld/u/1",
    "https://evil.tld#@avatars.githubusercontent.com/u/1",
    "https://evil.tld?@avatars.githubusercontent.com",
    "//evil.tld/u/1",
    "https:evil.tld/u/1",
    "http://avatars.githubusercontent.com/u/1",
    "https://avatars.githubusercontent.com:8443/u/1",
    "javascript://avatars.githubusercontent.com/%0aalert(1)",
    "https://evil.tld\uff0f.githubusercontent.com/u/1",
    "https://evil.tld%2f.githubusercontent.com/u/1",
    "https://raw.githubusercontent.com/evil/pixel/main/p.png",
]


@pytest.mark.parametrize("avatar", HOSTILE_AVATARS)
def test_a_sign_in_avatar_off_githubs_avatar_hosts_is_neither_stored_nor_served(api, gh, db, avatar):
    prepared = _prepare_callback(api, gh)
    gh.fail("GET", r"^/user$", status=200, body={"id": 601, "login": "alice", "avatar_url": avatar})
    response = api.post("/auth/github/callback", json=prepared)
    assert response.status_code == 200, response.text
    db.expire_all()
    assert response.json()["user"]["avatar_url"] is None
    assert db.scalar(select(User.avatar_url)) is None
