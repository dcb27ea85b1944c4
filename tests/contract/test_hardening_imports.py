"""Issue 7, findings 1, 2 and 6 for imports, through the local API (what `make dev` serves) against the fake
GitHub and OpenAI: an import is the importer's own data, never a shared report another user reads; the
URLs it carries are GitHub's or rebuilt; a forged `generatedAt` is a JSON 422 that writes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from fixtures_identity import Account, Cast
from sqlalchemy import select, text, update
from test_contract_reports import ORIGIN, REPO, _assert_error, _open_report

from oss_tldr.db.models import Report
from tools.fakes.github_activity import seed_activity

BOB_ID = 402

EVIL = "http://evil.example/phish"
EVIL_USER = {
    "login": "bob",
    "avatar_url": "data:text/html,<script>alert(document.cookie)</script>",
    "profile_url": "javascript:alert(document.cookie)",
}
PHISHING_TLDR = "Security alert: your token leaked, rotate it now at http://evil.example/login"


USERS = Cast(
    alice=Account(401, "gho_fake_alice_hardening"),
    bob=Account(BOB_ID, "gho_fake_bob_hardening"),
    admin=Account(403, "gho_fake_root_hardening", login="root"),
    origin=ORIGIN,
)


@pytest.fixture
def api(start_local_api, fake_github, fake_openai, settings_env):
    settings_env(ADMIN_LOGINS="root")
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as client:
        yield client


@pytest.fixture
def seeded(fake_github):
    return seed_activity(fake_github, REPO, now=dt.datetime.now(dt.UTC), prs=8, issues=6, bots=1, seed=7)


def _evil_item(number: int, *, pull_request: bool) -> dict[str, Any]:
    return {
        "id": f"I_{number}",
        "number": number,
        "title": "Urgent: verify your account",
        "state": "open",
        "summary": f"Log in at {EVIL} to keep access.",
        "html_url": f"{EVIL}/{number}",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "comments": 0,
        "reactions": 0,
        "labels": [],
        "user": EVIL_USER,
        "assignees": [EVIL_USER],
        "is_pull_request": pull_request,
        "merged": False,
    }


def _evil_report(generated_at: dt.datetime | str) -> dict[str, Any]:
    moment = generated_at if isinstance(generated_at, str) else generated_at.isoformat()
    return {
        "repo": REPO,
        "timeframe": "last_week",
        "generatedAt": moment,
        "version": 1,
        "data": {
            "tldr": PHISHING_TLDR,
            "prs": [_evil_item(1, pull_request=True)],
            "issues": [_evil_item(2, pull_request=False)],
            "people": [
                {
                    "username": "bob",
                    "avatar_url": EVIL_USER["avatar_url"],
                    "profile_url": EVIL_USER["profile_url"],
                    "tldr": f"See {EVIL}",
                    "prs": [_evil_item(1, pull_request=True)],
                    "issues": [],
                    "total_items": 1,
                }
            ],
        },
    }


def _shared_row(db, report_id: int) -> dict[str, Any]:
    db.expire_all()
    row = db.execute(text("SELECT * FROM reports WHERE id = :id"), {"id": report_id}).mappings().one()
    return dict(row)


def _all_rows(db) -> list[dict[str, Any]]:
    db.expire_all()
    tables = ("repositories", "user_repositories", "reports", "user_report_access", "audit_log")
    return [
        [dict(r) for r in db.execute(text(f"SELECT * FROM {t} ORDER BY 1")).mappings().all()] for t in tables
    ]


def _history(api: httpx.Client, headers: dict[str, str]) -> list[int]:
    response = api.get("/users/me/reports", headers=headers)
    assert response.status_code == 200, response.text
    return [summary["id"] for summary in response.json()["reports"]]


URL_FIELDS = ("html_url", "avatar_url", "profile_url")


def _urls(value: Any) -> list[str]:
    """Every URL field of a report (items, their users and assignees, people), wherever it nests."""
    if isinstance(value, list):
        return [url for v in value for url in _urls(v)]
    if not isinstance(value, dict):
        return []
    found = [value[k] for k in URL_FIELDS if isinstance(value.get(k), str)]
    return found + [url for v in value.values() for url in _urls(v)]


def _assert_github_urls_only(report: Any) -> None:
    urls = _urls(report)
    assert urls, report
    for url in urls:
        assert url.startswith(("https://github.com/", "https://avatars.githubusercontent.com/")), url


def _expire_and_import_as_bob(api, db, bob, report_id: int) -> tuple[int, dict[str, Any]]:
    """The attack: the shared report expires, bob imports a slightly newer one for the same window.
    Returns bob's report id and the shared row as it was just before the import."""
    db.execute(update(Report).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    db.commit()
    shared = _shared_row(db, report_id)
    newer = shared["generated_at"] + dt.timedelta(microseconds=1)
    imported = api.post("/users/me/import", json={"reports": [_evil_report(newer)]}, headers=bob)
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"repositories_imported": 0, "reports_imported": 1, "skipped": 0}
    db.expire_all()
    (own,) = db.scalars(select(Report.id).where(Report.owner_user_id == BOB_ID)).all()
    return own, shared


def test_import_cannot_rewrite_a_shared_report_another_user_reads(api, seeded, alice, bob, db):
    opened = _open_report(api, alice)
    assert all(r.status_code == 200 for r in opened.values())
    report_id = opened["prs"].json()["report_id"]
    generated = api.get(f"/reports/{report_id}", headers=alice).json()
    assert report_id in _history(api, alice)

    bobs_id, shared_before = _expire_and_import_as_bob(api, db, bob, report_id)

    assert bobs_id != report_id
    assert _shared_row(db, report_id) == shared_before  # not a byte of the shared row changed
    # Alice opens the report from her history: the generated content, not bob's.
    assert _history(api, alice) == [report_id]
    from_history = api.get(f"/reports/{report_id}", headers=alice)
    assert from_history.status_code == 200
    body = from_history.json()
    assert (body["tldr"], body["prs"], body["issues"]) == (
        generated["tldr"],
        generated["prs"],
        generated["issues"],
    )
    assert PHISHING_TLDR not in from_history.text
    _assert_github_urls_only(body)
    # A fresh request regenerates the shared report (the same row, in place), never serves bob's.
    for response in _open_report(api, alice).values():
        assert response.status_code == 200, response.text
        assert PHISHING_TLDR not in response.text and "evil.example" not in response.text
    fresh = api.post("/reports/generate", json={"repo_url": REPO}, headers=alice).json()
    assert fresh["id"] == report_id and fresh["tldr"] != PHISHING_TLDR
    db.expire_all()
    assert db.scalar(select(Report.summariser).where(Report.id == report_id)) != "imported"
    assert db.scalar(select(Report.tldr_text).where(Report.id == bobs_id)) == PHISHING_TLDR


def test_an_imported_report_is_served_to_its_importer_only(api, seeded, alice, bob, admin, db):
    report_id = _open_report(api, alice)["prs"].json()["report_id"]
    bobs_id, _ = _expire_and_import_as_bob(api, db, bob, report_id)

    mine = api.get(f"/reports/{bobs_id}", headers=bob)
    assert mine.status_code == 200, mine.text
    assert mine.json()["tldr"] == PHISHING_TLDR
    assert bobs_id in _history(api, bob)
    # Anyone else asking for bob's id gets exactly the answer of an id that does not exist.
    missing = api.get("/reports/2147483000", headers=alice)
    for caller in (alice, admin):
        other = api.get(f"/reports/{bobs_id}", headers=caller)
        assert _assert_error(other, 404) == _assert_error(missing, 404)
    assert bobs_id not in _history(api, alice)
    listed = api.get("/reports", headers=admin).json()["reports"]
    assert [r["id"] for r in listed] == [report_id]  # the admin list is the shared cache only
    # Bob's own section requests are the shared cache too, never his import.
    for response in _open_report(api, bob).values():
        assert response.status_code == 200 and PHISHING_TLDR not in response.text


def test_imported_urls_that_are_not_githubs_are_never_served(api, seeded, bob, db):
    # Bob cannot reach anyone else with his import; even to him, the links are GitHub's.
    generated = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    response = api.post("/users/me/import", json={"reports": [_evil_report(generated)]}, headers=bob)
    assert response.json()["reports_imported"] == 1
    (own,) = _history(api, bob)
    report = api.get(f"/reports/{own}", headers=bob).json()
    _assert_github_urls_only(report)
    assert report["prs"][0]["html_url"] == f"https://github.com/{REPO}/pull/1"
    assert report["issues"][0]["html_url"] == f"https://github.com/{REPO}/issues/2"
    assert report["prs"][0]["user"] == {
        "login": "bob",
        "avatar_url": None,
        "profile_url": "https://github.com/bob",
    }
    assert (report["people"][0]["avatar_url"], report["people"][0]["profile_url"]) == (
        None,
        "https://github.com/bob",
    )
    for scheme in ("javascript:alert(1)", "data:text/html,<script>alert(1)</script>"):
        entry = _evil_report(generated)
        entry["data"]["issues"][0]["html_url"] = scheme
        skipped = api.post("/users/me/import", json={"reports": [entry]}, headers=bob)
        assert skipped.json() == {"repositories_imported": 0, "reports_imported": 0, "skipped": 1}


@pytest.mark.parametrize(
    "generated", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "1970-01-01T00:00:00Z"]
)
def test_an_import_dated_in_year_0001_is_a_422_json_error_and_writes_nothing(api, seeded, bob, db, generated):
    before = _all_rows(db)
    export = {
        "repos": [REPO],
        "reports": [_evil_report(dt.datetime.now(dt.UTC)), _evil_report(generated)],
    }
    body = _assert_error(api.post("/users/me/import", json=export, headers=bob), 422)
    assert body["code"] == "invalid_generated_at"
    assert _all_rows(db) == before
