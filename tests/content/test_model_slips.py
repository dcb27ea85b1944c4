"""Model answers that slip, through the reports route (issue 9 item 8): a digest that leaves a person out
degrades that person alone (200, the extractive text, recorded in the report row's ``fallbacks``); a
refusal fails the generation (502) and caches nothing."""

from __future__ import annotations

import datetime as dt

from fixtures_identity import Account, Cast
from helpers import call_route
from sqlalchemy import func, select

from oss_tldr.db.models import ItemSummary, Report
from tools.fakes.github_activity import add_item

REPO = "octo/hello"
USERS = Cast(alice=Account(301, "gho_fake_alice"))


def section(user, name):
    return call_route(user, "GET", f"/api/v1/reports/{REPO}/{name}", query="timeframe=last_week")


def count(db, model):
    return db.scalar(select(func.count()).select_from(model))


def _seed(fake_github):
    """alice: 3 PRs, bob: 2 PRs (his most discussed one known), carol: 1 issue, all in the last week."""
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=3)
    for i in range(3):
        add_item(fake_github, REPO, login="alice", title=f"Alice change {i}", created_at=start, comments=i)
    add_item(fake_github, REPO, login="bob", title="Bob's small fix", created_at=start, comments=1)
    big = add_item(fake_github, REPO, login="bob", title="Bob's big change", created_at=start, comments=6)
    add_item(fake_github, REPO, kind="issue", login="carol", title="Carol's crash", created_at=start)
    return big


def test_a_digest_that_omits_one_person_is_a_200_with_that_person_s_extractive_text(
    engine, db, fake_github, fake_openai, alice
):
    big = _seed(fake_github)
    fake_openai.omit_person("bob")
    answer = section(alice, "people")
    assert answer.status == 200, answer.text
    body = answer.json()
    people = {p["username"]: p for p in body["people"]}
    assert set(people) == {"alice", "bob", "carol"}
    # bob's TL;DR is the extractive summariser's; everyone else's is the model's.
    assert (
        people["bob"]["tldr"]
        == f"@bob authored 2 pull requests, most discussed: “Bob's big change” (#{big['number']})."
    )
    assert people["alice"]["tldr"].startswith("Fake AI TL;DR of alice")
    assert people["carol"]["tldr"].startswith("Fake AI TL;DR of carol")
    assert fake_openai.count() == 2  # items + digest (LLM <= 2): no retry spent on the slip
    assert fake_github.count("POST", r"^/graphql$") == 1
    report = db.scalars(select(Report)).one()
    assert report.fallbacks == {"people": ["bob"]}
    assert body["report_id"] == report.id and body["partial"] is False
    assert body["stats"]["pull_requests"] == 5 and body["stats"]["issues"] == 1
    # Stored as generated: the other sections are cache hits with the model's text.
    fake_openai.reset_counts()
    tldr = section(alice, "tldr")
    assert tldr.status == 200 and tldr.text.startswith("Fake AI TL;DR of octo/hello")
    assert fake_openai.count() == 0 and count(db, Report) == 1


def test_a_refusal_is_a_502_that_caches_nothing(engine, db, fake_github, fake_openai, alice):
    _seed(fake_github)
    fake_openai.refuse(times=1, task="digest")
    answer = section(alice, "prs")
    assert answer.status == 502, answer.text
    assert answer.json()["code"] == "upstream_unavailable"
    assert fake_openai.count("digest") == 1  # a refusal is not asked again
    assert count(db, Report) == 0 and count(db, ItemSummary) == 0
    # Nothing was cached: the next request generates afresh, and succeeds.
    fake_openai.reset_counts()
    again = section(alice, "prs")
    assert again.status == 200
    assert fake_openai.count("item_summaries") == 1 and fake_openai.count("digest") == 1
    assert db.scalars(select(Report)).one().fallbacks == {}
