"""POST /users/me/import: the old client's localStorage export, idempotent, garbage-tolerant, and never
overwriting a newer (or live) server-side report."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from fixtures_identity import Account, Cast
from helpers import call
from sqlalchemy import func, insert, select, text, update

from oss_tldr.db.models import AuditLog, Report, Repository, UserReportAccess, UserRepository
from oss_tldr.windows import window_for

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


USERS = Cast(alice=Account(1, ALICE_GH), bob=Account(2, BOB_GH), after=("gh",))


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


def test_importing_again_later_does_not_move_the_imported_reports_up_the_history(alice, lambda_context, db):
    """An import puts reports in the history; it is not an open, so a later import of the same export
    leaves their access moments (the history's order) as they were."""
    _import(lambda_context, alice, EXPORT)
    db.execute(
        update(UserReportAccess).values(accessed_at=UserReportAccess.accessed_at - dt.timedelta(hours=1))
    )
    db.commit()
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


# --------------------------------------------------------------------------------- issue 7 hardening
def _rows(db):
    db.expire_all()
    return db.execute(select(Report).order_by(Report.id)).scalars().all()


def test_a_newer_import_over_an_expired_shared_report_is_the_importers_own_copy(alice, lambda_context, db):
    _server_report(
        db, dt.datetime.fromisoformat(GENERATED) - dt.timedelta(hours=1), expires_in=-dt.timedelta(1)
    )
    shared_before = _snapshot(db)["reports"]
    status, body, _ = _import(lambda_context, alice, {"reports": [_report()]})
    assert (status, body["reports_imported"]) == (200, 1)
    shared, own = _rows(db)
    assert _snapshot(db)["reports"][0] == shared_before[0]  # the shared row is untouched
    assert (shared.owner_user_id, shared.tldr_text) == (None, "Server report.")
    assert (own.owner_user_id, own.tldr_text, own.summariser) == (1, "A quiet week.", "imported")
    assert (own.timeframe_start, own.timeframe_end) == (shared.timeframe_start, shared.timeframe_end)
    history = db.scalars(select(UserReportAccess.report_id).where(UserReportAccess.user_id == 1)).all()
    assert history == [own.id]


def test_reimporting_replaces_only_the_users_own_copy_and_only_when_newer(alice, bob, lambda_context, db):
    _import(lambda_context, alice, {"reports": [_report()]})
    _import(lambda_context, bob, {"reports": [_report(tldr="Bob's week.")]})
    before = _snapshot(db)
    older = (dt.datetime.fromisoformat(GENERATED) - dt.timedelta(minutes=1)).isoformat()
    for generated in (GENERATED, older):
        status, body, _ = _import(
            lambda_context, alice, {"reports": [_report(generated=generated, tldr="x")]}
        )
        assert (status, body["reports_imported"]) == (200, 0)
    assert _snapshot(db) == before
    newer = (dt.datetime.fromisoformat(GENERATED) + dt.timedelta(minutes=1)).isoformat()
    status, body, _ = _import(lambda_context, alice, {"reports": [_report(generated=newer, tldr="Newer.")]})
    assert (status, body["reports_imported"]) == (200, 1)
    rows = {(r.owner_user_id, r.tldr_text) for r in _rows(db)}
    assert rows == {(1, "Newer."), (2, "Bob's week.")}  # bob's copy (and no shared row) untouched


def _stored_items(db):
    (report,) = _rows(db)
    return report


HOSTILE_USER = {
    "login": "mallory",
    "avatar_url": "data:text/html,<script>alert(1)</script>",
    "profile_url": "javascript:alert(document.cookie)",
}


def test_imported_urls_are_kept_only_on_github_and_otherwise_rebuilt_or_dropped(alice, lambda_context, db):
    issues = [
        _item(1, html_url="http://evil.example/phish", user=HOSTILE_USER, assignees=[HOSTILE_USER]),
        _item(
            2,
            html_url="https://github.com/octo/hello/issues/2",
            user={
                "login": "alice",
                "avatar_url": "https://avatars.githubusercontent.com/u/1?v=4",
                "profile_url": "https://evil.example/alice",
            },
        ),
    ]
    prs = [_item(3, html_url="https://evil.example/pull/3", is_pull_request=True)]
    people = [
        {
            "username": "mallory",
            "avatar_url": "javascript:alert(1)",
            "profile_url": "http://evil.example/mallory",
            "tldr": "Did things.",
            "issues": [_item(4, html_url="http://github.com.evil.example/x")],
        }
    ]
    status, body, _ = _import(
        lambda_context, alice, {"reports": [_report(issues=issues, prs=prs, people=people)]}
    )
    assert (status, body["reports_imported"]) == (200, 1)
    report = _stored_items(db)
    first, second = report.issues
    assert first["html_url"] == "https://github.com/octo/hello/issues/1"
    assert first["user"] == {
        "login": "mallory",
        "avatar_url": None,
        "profile_url": "https://github.com/mallory",
    }
    assert first["assignees"] == [first["user"]]
    assert second["html_url"] == "https://github.com/octo/hello/issues/2"
    assert second["user"]["avatar_url"] == "https://avatars.githubusercontent.com/u/1?v=4"
    assert second["user"]["profile_url"] == "https://github.com/alice"
    assert report.prs[0]["html_url"] == "https://github.com/octo/hello/pull/3"
    (person,) = report.people
    assert (person["avatar_url"], person["profile_url"]) == (None, "https://github.com/mallory")
    assert person["issues"][0]["html_url"] == "https://github.com/octo/hello/issues/4"
    assert "evil" not in json.dumps([report.prs, report.issues, report.people])


@pytest.mark.parametrize(
    "html_url", ["javascript:alert(1)", "data:text/html,<script>", "vbscript:x", "//evil"]
)
def test_an_item_url_that_is_not_http_skips_its_report(alice, lambda_context, db, html_url):
    status, body, _ = _import(
        lambda_context, alice, {"reports": [_report(issues=[_item(1, html_url=html_url)])]}
    )
    assert (status, body) == (200, {"repositories_imported": 0, "reports_imported": 0, "skipped": 1})
    assert _rows(db) == []


def test_imported_text_is_plain_and_bounded(alice, lambda_context, db):
    issue = _item(
        1,
        title="Fix \u202eevil\u202c bug\x07" + "t" * 5000,
        summary="  s\x1b[31m" + "s" * 5000,
        labels=["bug\x07", *(f"l{n}" for n in range(300))],  # NUL itself is a 422 at the API boundary
        state="open" * 100,
    )
    export = {"reports": [_report(tldr="Line one\nline\ttwo\x0b " + "w" * 10_000, issues=[issue])]}
    status, body, _ = _import(lambda_context, alice, export)
    assert (status, body["reports_imported"]) == (200, 1)
    report = _stored_items(db)
    (stored,) = report.issues
    assert stored["title"].startswith("Fix evil bug" + "t") and len(stored["title"]) == 300
    assert stored["summary"].startswith("s[31m") and len(stored["summary"]) == 1000
    assert stored["labels"][0] == "bug" and len(stored["labels"]) == 100
    assert len(stored["state"]) == 64
    assert report.tldr_text.startswith("Line one\nline\ttwo w") and len(report.tldr_text) == 4000


def test_nul_and_lone_surrogates_in_imported_text_are_stored_cleaned(alice, gh, db):
    """The API's JSON boundary refuses such bodies; the importer stores cleaned text whoever calls it."""
    from oss_tldr.reports import imports

    issue = _item(
        1,
        id="I_\x00x",
        title="ti\x00tle \ud800",
        summary="sum\udfffmary",
        labels=["la\x00bel"],
        user={"login": "al\x00ice", "avatar_url": "https://avatars.githubusercontent.com/\x00"},
    )
    person = {"username": "bo\ud83db", "tldr": "t\x00l\udc00dr", "issues": [issue]}
    report = _report(tldr="A \x00quiet\ud800 week.", issues=[issue], people=[person])
    result = imports.import_local_storage(1, ["octo/hello"], [report])
    assert (result.repositories_imported, result.reports_imported, result.skipped) == (1, 1, 0)
    stored = _stored_items(db)
    assert stored.tldr_text == "A quiet\ufffd week."
    (item,) = stored.issues
    assert (item["id"], item["title"], item["summary"]) == ("I_x", "title \ufffd", "sum\ufffdmary")
    assert item["labels"] == ["label"]
    assert item["user"] == {"login": "alice", "avatar_url": None, "profile_url": "https://github.com/alice"}
    (stored_person,) = stored.people
    assert (stored_person["username"], stored_person["tldr"]) == ("bo\ufffdb", "tl\ufffddr")
    assert stored_person["profile_url"] == "https://github.com/bo%EF%BF%BDb"


@pytest.mark.parametrize(
    "generated",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "0001-01-01",
        "1999-12-31T23:59:59Z",
        "2008-01-01T00:00:00+01:00",  # 2007-12-31T23:00Z
    ],
)
def test_an_import_dated_before_github_existed_is_a_422_and_writes_nothing(
    alice, gh, lambda_context, db, generated
):
    before = _snapshot(db)
    export = {
        "repos": ["octo/hello"],
        "reports": [_report(), _report(timeframe="last_day", generated=generated)],
    }
    status, body, _ = _import(lambda_context, alice, export)
    assert (status, set(body), body["code"]) == (422, {"detail", "code"}, "invalid_generated_at")
    assert "reports[1].generatedAt" in body["detail"]
    assert _snapshot(db) == before
    assert gh.count("GET", r"^/repos/") == 0


@pytest.mark.parametrize(
    "generated", ["9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59Z", "2008-01-01T00:00:00Z"]
)
def test_far_future_dates_are_skipped_and_2008_is_accepted(alice, lambda_context, generated):
    status, body, _ = _import(lambda_context, alice, {"reports": [_report(generated=generated)]})
    assert status == 200, body
    expected = 1 if generated.startswith("2008") else 0
    assert (body["reports_imported"], body["skipped"]) == (expected, 1 - expected)
