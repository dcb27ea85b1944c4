"""Reports that are true on a busy repository (issue 9), through the reports function in-process, against the
fake GitHub's GraphQL API validated by GitHub's published schema.

The busy repository has hundreds of items per kind, pull requests merged years ago but touched in the window,
bots, a ghost author and items with huge old threads; each test computes what is true from what it seeded
and asserts the report says exactly that.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fixtures_identity import Account, Cast
from helpers import STATS_KEYS, call_route, window_start
from sqlalchemy import func, select

from oss_tldr.db.models import Report, Repository, RepositoryAlias
from tools.fakes.github_activity import add_item

USERS = Cast(alice=Account(901, "gho_fake_alice_accuracy"), bob=Account(902, "gho_fake_bob_accuracy"))
GRAPHQL = r"^/graphql$"
BUSY = "big/busy"


def section(user, name, *, repo=BUSY, timeframe="last_week"):
    return call_route(user, "GET", f"/api/v1/reports/{repo}/{name}", query=f"timeframe={timeframe}")


def count(db, model):
    return db.scalar(select(func.count()).select_from(model))


def inside(hours: float) -> dt.datetime:
    """A moment ``hours`` after the window's start (inside it for 0 < hours < 168)."""
    return window_start() + dt.timedelta(hours=hours)


@pytest.fixture
def busy(fake_github):
    """Hundreds of items per kind; returns the truth the report must tell and the numbers of notable items."""
    fake = fake_github
    truth = dict.fromkeys(STATS_KEYS, 0)
    before = window_start() - dt.timedelta(days=40)
    # 150 PRs opened in the window, 90 of them merged in it, each with two comments in the window.
    for n in range(150):
        created = inside(1 + n * 0.9)
        merged = n < 90
        add_item(
            fake,
            BUSY,
            kind="pr",
            login=f"dev{n % 12}",
            created_at=created,
            updated_at=created + dt.timedelta(hours=2),
            merged=merged,
            closed_at=created + dt.timedelta(hours=2) if merged else None,
            comments=2,
            events=[
                ("ISSUE_COMMENT", created + dt.timedelta(minutes=30)),
                ("ISSUE_COMMENT", created + dt.timedelta(hours=1)),
            ],
        )
        truth["pull_requests"] += 1
        truth["pull_requests_opened"] += 1
        truth["pull_requests_merged"] += merged
    # 60 PRs merged in 2017 and merely touched (labelled) in the window, with huge old threads.
    old = dt.datetime(2017, 3, 1, tzinfo=dt.UTC)
    ancient = [
        add_item(
            fake,
            BUSY,
            kind="pr",
            login="veteran",
            title=f"Ancient PR {n}",
            created_at=old,
            updated_at=inside(100 + n * 0.5),
            merged=True,
            closed_at=old + dt.timedelta(days=2),
            comments=900 + n,
            reactions=500,
            events=[("ISSUE_COMMENT", old + dt.timedelta(days=1)), ("LABELED_EVENT", inside(100 + n * 0.5))],
        )["number"]
        for n in range(60)
    ]
    truth["pull_requests"] += 60
    # The hottest PR: opened before the window, 40 comments and 6 reviews inside it, updated last.
    hot_pr = add_item(
        fake,
        BUSY,
        kind="pr",
        login="maintainer",
        title="The change everyone talks about",
        association="MEMBER",
        created_at=before,
        updated_at=inside(160),
        comments=45,
        events=[("ISSUE_COMMENT", before)]
        + [("ISSUE_COMMENT", inside(5 + n)) for n in range(40)]
        + [("PULL_REQUEST_REVIEW", inside(50 + n)) for n in range(6)],
    )["number"]
    truth["pull_requests"] += 1
    # 20 bot PRs opened and merged in the window, busy threads: counted, never listed.
    for n in range(20):
        created = inside(10 + n)
        add_item(
            fake,
            BUSY,
            kind="pr",
            login="dependabot[bot]",
            user_type="Bot",
            created_at=created,
            updated_at=created + dt.timedelta(hours=1),
            merged=True,
            comments=60,
            events=[("ISSUE_COMMENT", created + dt.timedelta(minutes=m)) for m in range(60)],
        )
        truth["pull_requests"] += 1
        truth["pull_requests_opened"] += 1
        truth["pull_requests_merged"] += 1
    # 250 issues updated in the window: 120 opened in it (70 closed in it), 130 older ones commented on.
    for n in range(120):
        created = inside(1 + n * 1.2)
        closed = n < 70
        add_item(
            fake,
            BUSY,
            kind="issue",
            login=f"user{n % 20}",
            created_at=created,
            updated_at=created + dt.timedelta(hours=1),
            state="closed" if closed else "open",
            closed_at=created + dt.timedelta(hours=1) if closed else None,
            comments=1,
            events=[("ISSUE_COMMENT", created + dt.timedelta(minutes=20))],
        )
        truth["issues"] += 1
        truth["issues_opened"] += 1
        truth["issues_closed"] += closed
    for n in range(129):
        add_item(
            fake,
            BUSY,
            kind="issue",
            login=f"user{n % 20}",
            created_at=before - dt.timedelta(days=n),
            updated_at=inside(2 + n),
            comments=3,
            events=[("ISSUE_COMMENT", inside(2 + n))],
        )
        truth["issues"] += 1
    # A ghost's issue (deleted account) with real activity: shown as GitHub shows it.
    ghost_issue = add_item(
        fake,
        BUSY,
        kind="issue",
        ghost=True,
        title="Reported by an account since deleted",
        created_at=inside(30),
        updated_at=inside(150),
        comments=25,
        events=[("ISSUE_COMMENT", inside(31 + n)) for n in range(25)],
    )["number"]
    truth["issues"] += 1
    truth["issues_opened"] += 1
    # Outside the window: updated before it, or opened after it ended. Never counted.
    for n in range(5):
        add_item(
            fake, BUSY, kind="pr", created_at=before, updated_at=window_start() - dt.timedelta(hours=n + 1)
        )
        add_item(
            fake, BUSY, kind="issue", created_at=before, updated_at=window_start() - dt.timedelta(hours=n + 1)
        )
    return {"truth": truth, "hot_pr": hot_pr, "ancient": set(ancient), "ghost_issue": ghost_issue}


def test_a_busy_repository_gets_githubs_exact_counts_and_in_window_ranking_in_one_request(
    engine, db, fake_github, busy, alice
):
    fake_github.reset_counts()
    answers = {name: section(alice, name) for name in ("prs", "issues", "people", "tldr")}
    assert {name: a.status for name, a in answers.items()} == dict.fromkeys(answers, 200)
    assert fake_github.count() == 1 and fake_github.count("POST", GRAPHQL) == 1
    assert fake_github.graphql_errors == []

    prs = answers["prs"].json()
    assert prs["stats"] == busy["truth"]  # GitHub's counts, bots included, merged inside the window only
    assert prs["partial"] is False and prs["stale"] is False
    assert answers["issues"].json()["stats"] == busy["truth"]
    listed = [item["number"] for item in prs["prs"]]
    assert listed[0] == busy["hot_pr"]  # most activity inside the window
    assert not set(listed) & busy["ancient"]  # huge old threads, nothing in the window
    assert all(
        not item["user"]["login"].endswith("[bot]") and item["user"]["login"] != "dependabot"
        for item in prs["prs"]
    )
    assert all(not item["merged"] or item["number"] not in busy["ancient"] for item in prs["prs"])

    issues = answers["issues"].json()["issues"]
    assert issues[0]["number"] == busy["ghost_issue"] and issues[0]["user"]["login"] == "ghost"
    people = [p["username"] for p in answers["people"].json()["people"]]
    assert "dependabot" not in people and not any(p.endswith("[bot]") for p in people)

    tldr = answers["tldr"].text
    truth = busy["truth"]
    assert f"{truth['pull_requests']} pull requests updated" in tldr
    assert f"{truth['pull_requests_merged']} merged" in tldr
    stored = db.execute(select(Report.stats, Report.partial)).one()
    assert stored.stats == truth and stored.partial is False


def test_a_renamed_repository_asked_by_its_old_name_is_one_row_one_report_and_a_hit_afterwards(
    engine, db, fake_github, alice, bob
):
    add_item(
        fake_github, "old-org/tool", kind="pr", login="carol", created_at=inside(10), updated_at=inside(20)
    )
    add_item(
        fake_github, "old-org/tool", kind="issue", login="dave", created_at=inside(11), updated_at=inside(21)
    )
    fake_github.rename_repo("old-org/tool", "new-org/tool")

    fake_github.reset_counts()
    first = section(alice, "prs", repo="old-org/tool")
    assert first.status == 200 and first.json()["cached"] is False
    assert fake_github.count("POST", GRAPHQL) == 2  # asked by the old name, then by the one GitHub gave
    assert fake_github.graphql_errors == []

    fake_github.reset_counts()
    for user, name in ((bob, "old-org/tool"), (alice, "new-org/tool"), (bob, "OLD-ORG/Tool")):
        again = section(user, "issues", repo=name)
        assert again.status == 200 and again.json()["cached"] is True, name
    assert fake_github.count() == 0  # the old name is an alias: no GitHub call

    by_id = call_route(alice, "GET", f"/api/v1/reports/{first.json()['report_id']}")
    assert by_id.json()["repo"] == "new-org/tool"  # the name GitHub displays now
    assert count(db, Repository) == 1 and count(db, Report) == 1
    assert db.scalars(select(RepositoryAlias.full_name)).all() == ["old-org/tool"]


def test_a_repository_renamed_after_its_report_keeps_its_row_and_reports(engine, db, fake_github, alice):
    add_item(fake_github, "acme/widget", kind="pr", created_at=inside(10), updated_at=inside(20))
    assert section(alice, "prs", repo="acme/widget").status == 200
    row_id = db.scalar(select(Repository.id))

    fake_github.rename_repo("acme/widget", "acme/gadget")
    fake_github.reset_counts()
    renamed = section(alice, "prs", repo="acme/gadget")  # the new name is not known yet: generated once
    assert renamed.status == 200 and fake_github.count("POST", GRAPHQL) == 1
    assert db.scalars(select(Repository.id)).all() == [row_id]  # the same row, by GitHub's id
    assert db.scalar(select(Repository.full_name)) == "acme/gadget"
    assert count(db, Report) == 1  # the window's report replaced in place, not a second row

    fake_github.reset_counts()
    assert section(alice, "issues", repo="acme/widget").json()["cached"] is True
    assert fake_github.count() == 0


def test_a_token_out_of_graphql_points_is_its_own_429_and_another_users_token_still_works(
    engine, db, fake_github, alice, bob
):
    add_item(fake_github, BUSY, kind="pr", created_at=inside(10), updated_at=inside(20))
    reset = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    fake_github.set_graphql_points(alice.github_token, 0, reset_at=reset)

    refused = section(alice, "prs")
    assert refused.status == 429 and refused.json()["code"] == "github_rate_limited"
    assert "rate limit" in refused.json()["detail"].lower()
    assert 500 <= int(refused.headers["retry-after"]) <= 601  # GitHub's reset time, not a guess
    assert count(db, Report) == 0

    served = section(bob, "prs")
    assert served.status == 200 and served.json()["cached"] is False


def test_a_reset_seconds_away_is_waited_for_inside_the_request(engine, db, fake_github, alice):
    add_item(fake_github, BUSY, kind="pr", created_at=inside(10), updated_at=inside(20))
    fake_github.set_graphql_points(
        alice.github_token, 0, reset_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    )
    fake_github.reset_counts()
    answer = section(alice, "prs")
    assert answer.status == 200
    assert fake_github.count("POST", GRAPHQL) == 2  # refused, waited out the reset, answered


def test_a_partial_github_answer_is_served_marked_and_expires_within_minutes(engine, db, fake_github, alice):
    add_item(fake_github, BUSY, kind="pr", created_at=inside(10), updated_at=inside(20), merged=True)
    fake_github.graphql_partial("prsMerged", message="Something went wrong while executing your query.")
    answer = section(alice, "prs")
    assert answer.status == 200
    body = answer.json()
    assert body["partial"] is True
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert expires <= dt.datetime.now(dt.UTC) + dt.timedelta(
        minutes=11
    )  # not the window's full refresh period
    assert db.scalar(select(Report.partial)) is True
    report = call_route(alice, "GET", f"/api/v1/reports/{body['report_id']}").json()
    assert report["partial"] is True and set(report["stats"]) == set(STATS_KEYS)
    # The count GitHub could not give is what the candidates show (one PR merged in the window), not 0;
    # the others stay GitHub's; the TL;DR says some counts may be low.
    assert report["stats"]["pull_requests_merged"] == 1 and report["stats"]["pull_requests"] == 1
    assert "some counts may be low" in report["tldr"]


def test_a_section_response_always_carries_all_the_stats_keys(engine, db, fake_github, alice):
    add_item(fake_github, BUSY, kind="issue", created_at=inside(10), updated_at=inside(20))
    body = json.loads(section(alice, "issues").text)
    assert set(body["stats"]) == set(STATS_KEYS) and all(isinstance(v, int) for v in body["stats"].values())
