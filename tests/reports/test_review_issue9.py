"""Review of issue 9: names that move between repositories (aliases) never carry a private report to
someone else, and the repository row's upsert stays whole under concurrent names."""

from __future__ import annotations

import datetime as dt

from fixtures_identity import Account, Cast
from helpers import call_route, window_start

from tools.fakes.github_activity import add_item

USERS = Cast(alice=Account(911, "gho_fake_alice_review9"), bob=Account(912, "gho_fake_bob_review9"))


def inside(hours: float) -> dt.datetime:
    return window_start() + dt.timedelta(hours=hours)


def section(user, name, repo):
    return call_route(user, "GET", f"/api/v1/reports/{repo}/{name}", query="timeframe=last_week")


def test_an_old_name_of_a_private_repository_now_taken_by_a_public_one_never_serves_the_private_report(
    engine, db, fake_github, alice, bob
):
    add_item(fake_github, "acme/secret", kind="pr", title="Private launch plan", created_at=inside(10))
    fake_github.repos["acme/secret"].private = True
    fake_github.repos["acme/secret"].visible_to = {alice.github_token}
    private = section(alice, "prs", "acme/secret")
    assert private.status == 200 and private.json()["prs"][0]["title"] == "Private launch plan"
    fake_github.rename_repo("acme/secret", "acme/secret-internal")
    assert section(alice, "prs", "acme/secret-internal").json()["report_id"] == private.json()["report_id"]
    assert section(alice, "prs", "acme/secret").json()["cached"] is True  # the old name: an alias

    # The organisation creates a new, public repository under the old name.
    add_item(fake_github, "acme/secret", kind="pr", title="Public hello", created_at=inside(20))
    answer = section(bob, "prs", "acme/secret")
    assert "Private launch plan" not in answer.text
    assert answer.json().get("report_id") != private.json()["report_id"]
    assert answer.status == 200 and answer.json()["prs"][0]["title"] == "Public hello"


def test_generate_by_an_old_name_now_another_repositorys_never_serves_the_private_report(
    engine, db, fake_github, alice, bob
):
    add_item(fake_github, "acme/vault", kind="pr", title="Private launch plan", created_at=inside(10))
    fake_github.repos["acme/vault"].private = True
    fake_github.repos["acme/vault"].visible_to = {alice.github_token}
    assert section(alice, "tldr", "acme/vault").status == 200
    fake_github.rename_repo("acme/vault", "acme/vault-internal")
    assert section(alice, "tldr", "acme/vault-internal").status == 200  # acme/vault: an alias now

    add_item(fake_github, "acme/vault", kind="pr", title="Public hello", created_at=inside(20))
    answer = call_route(
        bob, "POST", "/api/v1/reports/generate", body={"repo_url": "https://github.com/acme/vault"}
    )
    assert "Private launch plan" not in answer.text
    assert answer.status == 200 and answer.json()["repo"] == "acme/vault"


def test_an_old_name_still_on_a_stale_row_of_another_repository_is_a_hit_after_one_generation(
    engine, db, fake_github, alice
):
    from sqlalchemy import delete

    from oss_tldr.db.models import Report

    add_item(fake_github, "acme/old", kind="pr", title="First repository", created_at=inside(10))
    assert section(alice, "prs", "acme/old").status == 200  # a row for the first repository, acme/old
    db.execute(delete(Report))  # its window's report expired long ago
    db.commit()
    fake_github.rename_repo("acme/old", "acme/first-moved")  # renamed on GitHub; nobody asked here since
    add_item(fake_github, "acme/old", kind="pr", title="Second repository", created_at=inside(20))
    fake_github.rename_repo("acme/old", "acme/new")  # a second repository took the name, then moved on

    first = section(alice, "prs", "acme/old")  # GitHub leads acme/old to the second repository now
    assert first.status == 200 and first.json()["prs"][0]["title"] == "Second repository"
    fake_github.reset_counts()
    again = section(alice, "prs", "acme/old")
    assert again.json()["cached"] is True and again.json()["report_id"] == first.json()["report_id"]
    assert fake_github.count() == 0


def test_a_finished_job_of_a_private_repository_stays_hidden_after_its_old_name_goes_to_a_public_one(
    engine, db, fake_github, alice, bob
):
    from sqlalchemy import select

    from oss_tldr.db.models import ReportJob

    add_item(fake_github, "acme/hidden", kind="pr", title="Private launch plan", created_at=inside(10))
    fake_github.repos["acme/hidden"].private = True
    fake_github.repos["acme/hidden"].visible_to = {alice.github_token}
    assert section(alice, "prs", "acme/hidden").status == 200
    job_id = db.scalar(select(ReportJob.id).where(ReportJob.repo == "acme/hidden"))
    fake_github.rename_repo("acme/hidden", "acme/hidden-internal")
    assert section(alice, "prs", "acme/hidden-internal").status == 200  # acme/hidden: an alias now
    add_item(fake_github, "acme/hidden", kind="pr", title="Public hello", created_at=inside(20))
    assert section(bob, "prs", "acme/hidden").status == 200  # the name is the public repository's now

    # Bob's request moved the name; the private repository's finished job is still not his to see.
    hidden = call_route(bob, "GET", f"/api/v1/reports/jobs/{job_id}")
    assert hidden.status == 404 and hidden.json()["code"] == "not_found"
    assert call_route(alice, "GET", f"/api/v1/reports/jobs/{job_id}").status == 200
