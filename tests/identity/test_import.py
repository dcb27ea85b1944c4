"""POST /users/me/import: the old client's localStorage export, idempotent, garbage-tolerant, and never
overwriting a newer (or live) server-side report."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from fixtures_identity import call
from sqlalchemy import func, insert, select, text

from oss_tldr.db.models import AuditLog, Report, Repository, UserReportAccess, UserRepository
from oss_tldr.reports.windows import window_for

ALICE_GH, BOB_GH = "gho_fake_alice", "gho_fake_bob"
GENERATED = "2026-11-20T09:41:00Z"


def _item(number, **extra):
    item = {
        "id": f"I_{number}",
        "number": number,
        "title": f"Item {number}",
        "state": "open",
        "summary": "Something happened.",
        "html_url": f"https://github.com/octo/hello/issues/{number}",
        "created_at": "2026-11-18T10:00:00Z",
        "updated_at": "2026-11-19T10:00:00Z",
        "comments": 3,
        "reactions": 1,
        "labels": ["bug"],
        "user": {"login": "alice", "avatar_url": None, "profile_url": "https://github.com/alice"},
        "assignees": [],
        "is_pull_request": False,
        "merged": False,
    }
    item.update(extra)
    return item


def _report(repo="octo/hello", timeframe="last_week", generated=GENERATED, tldr="A quiet week.", **data):
    body = {"prs": [], "issues": [_item(1)], "people": [], "tldr": tldr}
    body.update(data)
    return {"repo": repo, "timeframe": timeframe, "data": body, "generatedAt": generated, "version": 1}


EXPORT = {
    "repos": [
        "octo/hello",
        {"full_name": "octo/world", "stargazers_count": 3},
        "https://github.com/octo/hello",
    ],
    "reports": [_report(), _report(timeframe="last_day", tldr="Busy day.")],
}


@pytest.fixture
def gh(fake_github):
    fake_github.add_user("alice", ALICE_GH, id=1)
    fake_github.add_user("bob", BOB_GH, id=2)
    fake_github.add_repo("octo/hello")
    fake_github.add_repo("octo/world")
    fake_github.add_repo("octo/secret", private=True, visible_to={ALICE_GH})
    return fake_github


@pytest.fixture
def alice(gh, make_user):
    return make_user(id=1, login="alice", github_token=ALICE_GH)


@pytest.fixture
def bob(gh, make_user):
    return make_user(id=2, login="bob", github_token=BOB_GH)


def _import(ctx, user, export):
    return call("ReposFunction", "repos_import.json", ctx, headers=user.headers, body=export)


def _snapshot(db):
    db.expire_all()
    out = {}
    for table in ("repositories", "user_repositories", "reports", "user_report_access", "audit_log"):
        rows = db.execute(text(f"SELECT * FROM {table} ORDER BY 1")).mappings().all()
        out[table] = [dict(r) for r in rows]
    return out


def test_import_tracks_repositories_and_stores_reports(alice, lambda_context, db):
    status, body, _ = _import(lambda_context, alice, EXPORT)
    assert status == 200, body
    assert body == {"repositories_imported": 2, "reports_imported": 2, "skipped": 0}
    tracked = call("ReposFunction", "repos_list_tracked.json", lambda_context, headers=alice.headers)[1]
    assert sorted(r["full_name"] for r in tracked["repositories"]) == ["octo/hello", "octo/world"]
    report = db.scalar(select(Report).where(Report.timeframe == "last_week"))
    window = window_for("last_week", dt.datetime(2026, 11, 20, 9, 41, tzinfo=dt.UTC))
    assert (report.timeframe_start, report.timeframe_end) == (window.start, window.end)
    assert report.generated_at == dt.datetime(2026, 11, 20, 9, 41, tzinfo=dt.UTC)
    assert report.tldr_text == "A quiet week." and report.issues[0]["number"] == 1
    assert report.summariser == "imported"  # never served to others as a fresh shared report
    assert db.scalar(select(func.count()).select_from(UserReportAccess)) == 2
    audit = db.scalar(select(AuditLog))
    assert (audit.action, audit.actor_user_id, audit.details["reports_imported"]) == ("user.import", 1, 2)


def test_importing_twice_changes_nothing_the_second_time(alice, lambda_context, db):
    _import(lambda_context, alice, EXPORT)
    before = _snapshot(db)
    status, body, _ = _import(lambda_context, alice, copy.deepcopy(EXPORT))
    assert (status, body) == (200, {"repositories_imported": 0, "reports_imported": 0, "skipped": 0})
    assert _snapshot(db) == before


GARBAGE_REPOS = [
    "",
    None,
    42,
    "owner/",
    "javascript:alert(1)",
    "https://evil.com/a/b",
    "x" * 10_240,
    "../../etc/passwd",
    "a'; DROP TABLE users; --/b",
    {"name": "no full_name"},
    {"full_name": ["octo/hello"]},
    [],
]
GARBAGE_REPORTS = [
    None,
    "a report",
    {},
    _report(repo="not a repo"),
    _report(timeframe="last_century"),
    _report(generated="yesterday"),
    _report(generated="2999-01-01T00:00:00Z"),  # in the future
    {**_report(), "data": "not an object"},
    _report(prs="not a list"),
    _report(issues=[{"title": "no number"}]),
    _report(issues=[_item(2, html_url="javascript:alert(1)")]),
    _report(people=[{"no": "username"}]),
    _report(tldr=["not", "text"]),
    {**_report(), "version": "one"},
]


def test_partial_garbage_is_skipped_and_counted_and_the_rest_imported(alice, lambda_context, db):
    export = {"repos": [*GARBAGE_REPOS, "octo/hello"], "reports": [*GARBAGE_REPORTS, _report()]}
    status, body, _ = _import(lambda_context, alice, export)
    assert status == 200, body
    assert body == {
        "repositories_imported": 1,
        "reports_imported": 1,
        "skipped": len(GARBAGE_REPOS) + len(GARBAGE_REPORTS),
    }
    db.expire_all()
    assert db.scalars(select(Repository.full_name)).all() == ["octo/hello"]


def test_only_garbage_writes_nothing(alice, gh, lambda_context, db):
    before = _snapshot(db)
    status, body, _ = _import(lambda_context, alice, {"repos": GARBAGE_REPOS, "reports": GARBAGE_REPORTS})
    assert (status, body["skipped"]) == (200, len(GARBAGE_REPOS) + len(GARBAGE_REPORTS))
    assert _snapshot(db) == before
    assert gh.count("GET", r"^/repos/") == 0


@pytest.mark.parametrize("export", [{}, {"repos": None}, {"repos": [], "reports": []}, {"other": 1}])
def test_empty_exports_import_nothing(alice, lambda_context, export):
    status, body, _ = _import(lambda_context, alice, export)
    assert (status, body) == (200, {"repositories_imported": 0, "reports_imported": 0, "skipped": 0})


@pytest.mark.parametrize("export", [[], "text", {"repos": "octo/hello"}, {"reports": {"a": 1}}])
def test_wrongly_shaped_exports_are_a_4xx_and_write_nothing(alice, lambda_context, db, export):
    before = _snapshot(db)
    status, body, _ = _import(lambda_context, alice, export)
    assert status in (400, 422) and set(body) == {"detail", "code"}
    assert _snapshot(db) == before


def test_repositories_the_caller_cannot_see_are_skipped(alice, bob, lambda_context, db):
    _import(lambda_context, alice, {"repos": ["octo/secret"]})  # alice can see it: cached as private
    status, body, _ = _import(
        lambda_context,
        bob,
        {"repos": ["octo/secret", "octo/missing"], "reports": [_report(repo="octo/secret")]},
    )
    assert (status, body) == (200, {"repositories_imported": 0, "reports_imported": 0, "skipped": 3})
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(UserRepository).where(UserRepository.user_id == 2)) == 0
    assert db.scalar(select(func.count()).select_from(Report)) == 0


def _server_report(db, generated_at, *, expires_in=dt.timedelta(hours=6), summariser="openai"):
    repo_id = db.execute(
        insert(Repository)
        .values(full_name="octo/hello", owner="octo", name="hello", html_url="https://github.com/octo/hello")
        .returning(Repository.id)
    ).scalar_one()
    window = window_for("last_week", dt.datetime.fromisoformat(GENERATED))
    db.execute(
        insert(Report).values(
            repository_id=repo_id,
            timeframe="last_week",
            timeframe_start=window.start,
            timeframe_end=window.end,
            tldr_text="Server report.",
            generated_at=generated_at,
            expires_at=dt.datetime.now(dt.UTC) + expires_in,
            summariser=summariser,
            prompt_version="v1",
        )
    )
    db.commit()


@pytest.mark.parametrize("minutes", [1, 0])
def test_never_overwrites_a_newer_or_equal_server_report(alice, lambda_context, db, minutes):
    generated = dt.datetime.fromisoformat(GENERATED) + dt.timedelta(minutes=minutes)
    _server_report(db, generated)
    status, body, _ = _import(lambda_context, alice, {"reports": [_report()]})
    assert (status, body["reports_imported"]) == (200, 0)
    db.expire_all()
    assert db.scalar(select(Report.tldr_text)) == "Server report."
    assert db.scalar(select(func.count()).select_from(UserReportAccess)) == 1  # it is in alice's history


def test_never_replaces_a_live_server_report_even_with_newer_content(alice, lambda_context, db):
    _server_report(db, dt.datetime.fromisoformat(GENERATED) - dt.timedelta(hours=1))
    _import(lambda_context, alice, {"reports": [_report()]})
    db.expire_all()
    assert db.scalar(select(Report.tldr_text)) == "Server report."


def test_a_newer_import_replaces_an_expired_report(alice, lambda_context, db):
    _server_report(
        db, dt.datetime.fromisoformat(GENERATED) - dt.timedelta(hours=1), expires_in=-dt.timedelta(1)
    )
    status, body, _ = _import(lambda_context, alice, {"reports": [_report()]})
    assert (status, body["reports_imported"]) == (200, 1)
    db.expire_all()
    assert db.scalar(select(Report.tldr_text)) == "A quiet week."
    assert db.scalar(select(func.count()).select_from(Report)) == 1


def test_import_accepts_bodies_larger_than_the_default_limit(alice, lambda_context):
    issues = [_item(n, summary="s" * 500) for n in range(1, 300)]
    export = {"repos": ["octo/hello"], "reports": [_report(issues=issues)]}
    assert len(json.dumps(export)) > 200_000
    status, body, _ = _import(lambda_context, alice, export)
    assert (status, body["reports_imported"]) == (200, 1)


def test_import_over_the_size_limit_is_413(alice, lambda_context, db):
    status, body, _ = _import(
        lambda_context, alice, {"repos": ["octo/hello"], "pad": "x" * (6 * 1024 * 1024)}
    )
    assert (status, body["code"]) == (413, "payload_too_large")
    assert _snapshot(db)["user_repositories"] == []


def test_github_rate_limit_during_import_is_429_and_writes_nothing(alice, gh, lambda_context, db):
    before = _snapshot(db)
    gh.fail("GET", r"^/repos/octo/world$", status=429, headers={"retry-after": "120"}, times=5)
    status, body, headers = _import(lambda_context, alice, EXPORT)
    assert status == 429 and "rate limit" in body["detail"] and headers["Retry-After"]
    assert _snapshot(db) == before


def test_repositories_cached_as_public_are_not_looked_up_again(alice, bob, gh, lambda_context):
    _import(lambda_context, alice, {"repos": ["octo/hello"]})
    gh.reset_counts()
    status, body, _ = _import(lambda_context, bob, {"repos": ["octo/hello"]})
    assert (status, body["repositories_imported"]) == (200, 1)
    assert gh.count("GET", r"^/repos/") == 0
