"""docs/api.md "Deep dive", seen from outside: real HTTP through the local API (what `make dev` serves)
against the fake GitHub and the fake OpenAI — the SPA's own sequence (patches, then every diff at once, then
the deep dive), sharing across users, the private-repository rule, quotas and malformed input."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fixtures_identity import Account, Cast
from helpers import assert_error
from sqlalchemy import func, select, update

from oss_tldr.db.models import DeepDive, DeepDiveUsage, FilePatch, PatchExplanation, PatchSet
from tools.fakes.github_activity import add_item
from tools.fakes.github_pulls import add_comment, add_review, file_entry, set_files

ORIGIN = "http://localhost:5173"
REPO = "octo/hello"
URL = f"https://github.com/{REPO}"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
GRAPHQL = r"^/graphql$"
FILES = r"/pulls/\d+/files$"
SECTIONS = ("## Summary", "## Reviews", "## Comments", "## Action Items")

USERS = Cast(
    alice=Account(401, "gho_fake_alice_deep"),
    bob=Account(402, "gho_fake_bob_deep"),
    carol=Account(403, "gho_fake_carol_deep"),
    origin=ORIGIN,
)


def _patch(name: str, hunks: int = 1, lines: int = 3) -> str:
    out = []
    for h in range(hunks):
        out.append(f"@@ -{10 * h + 1},{lines} +{10 * h + 1},{lines + 1} @@ def {name}_{h}():")
        out += [f"-    old_{name}_{h}_{i}" for i in range(lines)]
        out += [f"+    new_{name}_{h}_{i}" for i in range(lines + 1)]
    return "\n".join(out)


def _files() -> list[dict[str, Any]]:
    return [
        file_entry("src/app.py", _patch("app", hunks=2)),
        file_entry("src/util.py", _patch("util")),
        file_entry("docs/logo.png", None, status="added"),  # binary: GitHub sends no patch
        file_entry("src/copy_a.py", _patch("same")),
        file_entry("src/copy_b.py", _patch("same")),  # the same patch text: one explanation for both
    ]


def _seed(fake: Any, repo: str = REPO, number: int = 7, **extra: Any) -> dict[str, Any]:
    add_item(
        fake,
        repo,
        kind="pr",
        number=number,
        title="Add streaming support",
        body="This adds streaming to the client. It fixes the memory growth users reported.",
        login="alice",
        created_at=NOW - dt.timedelta(days=3),
        updated_at=NOW - dt.timedelta(days=2),
        **extra,
    )
    set_files(fake, repo, number, _files())
    add_comment(
        fake,
        repo,
        number,
        login="bob",
        body="Could you add a test for the timeout?",
        at=NOW - dt.timedelta(days=1),
    )
    add_comment(
        fake, repo, number, login="alice", body="Done, see the last commit.", at=NOW - dt.timedelta(hours=20)
    )
    add_review(
        fake,
        repo,
        number,
        login="carol",
        state="CHANGES_REQUESTED",
        body="Please rename the flag.",
        at=NOW - dt.timedelta(hours=10),
    )
    return fake.repos[repo.lower()].items[-1]


@pytest.fixture
def api(start_local_api, fake_github, fake_openai):
    _seed(fake_github)
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as client:
        yield client


@pytest.fixture
def offline_api(start_local_api, fake_github):
    """The local API without an OpenAI key: the offline summariser writes."""
    _seed(fake_github)
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as client:
        yield client


def _counts(fake_github: Any, fake_openai: Any) -> tuple[int, int]:
    return fake_github.count(), fake_openai.count()


def _spa(
    api: httpx.Client, headers: dict[str, str], number: str = "7"
) -> tuple[list[dict[str, str]], list[Any], Any]:
    """What the SPA does: the patches, then every file's diff at the same moment, then the deep dive."""
    listed = api.post("/patches", json={"repo_url": URL, "pull_request": number}, headers=headers)
    assert listed.status_code == 200, listed.text
    patches = listed.json()["patches"]
    with ThreadPoolExecutor(max_workers=len(patches)) as pool:
        diffs = list(pool.map(lambda p: api.post("/diff", json=p, headers=headers), patches))
    deep = api.post("/deepdive", json={"repo_url": URL, "issue": number}, headers=headers)
    return patches, diffs, deep


def test_the_spas_sequence_answers_its_shapes_and_a_second_user_costs_no_github_or_model_request(
    api, fake_github, fake_openai, alice, bob
):
    patches, diffs, deep = _spa(api, alice)
    assert [set(p) for p in patches] == [{"file", "patch"}] * 5
    assert [p["file"] for p in patches] == [
        "src/app.py",
        "src/util.py",
        "docs/logo.png",
        "src/copy_a.py",
        "src/copy_b.py",
    ]
    assert patches[2]["patch"] == "" and patches[0]["patch"].startswith("@@ -1,3 +1,4 @@")
    assert all(d.status_code == 200 and set(d.json()) == {"explanation"} for d in diffs), [
        d.text for d in diffs
    ]
    assert all(len(d.json()["explanation"].split()) <= 50 for d in diffs)
    assert deep.status_code == 200 and deep.headers["content-type"].startswith("text/plain")
    assert all(section in deep.text for section in SECTIONS), deep.text
    # Cold: one GraphQL (head) + one files page + one GraphQL (thread); 3 distinct patches, 1 deep dive.
    assert fake_github.count("POST", GRAPHQL) == 2 and fake_github.count("GET", FILES) == 1
    assert fake_openai.count("diff_explanation") == 3 and fake_openai.count("deep_dive") == 1

    before = _counts(fake_github, fake_openai)
    again = _spa(api, bob)
    assert _counts(fake_github, fake_openai) == before  # shared: 0 GitHub, 0 model requests
    assert again[0] == patches and [d.json() for d in again[1]] == [d.json() for d in diffs]
    assert again[2].text == deep.text
    assert fake_github.graphql_errors == []  # both queries valid against GitHub's schema


def test_a_patch_never_served_is_a_404_and_costs_no_model_request(api, fake_openai, alice, db):
    answer = api.post("/diff", json={"file": "x.py", "patch": "@@ -1 +1 @@\n-a\n+b"}, headers=alice)
    assert_error(answer, 404, "patch_not_found")
    assert fake_openai.count() == 0
    assert db.scalar(select(func.count()).select_from(PatchExplanation)) == 0


def test_parallel_diffs_of_two_users_cost_at_most_one_model_request_per_distinct_patch(
    api, fake_openai, alice, bob
):
    patches = api.post("/patches", json={"repo_url": URL, "pull_request": "7"}, headers=alice).json()[
        "patches"
    ]
    calls = [(p, who) for p in patches for who in (alice, bob)] * 2
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda c: api.post("/diff", json=c[0], headers=c[1]), calls))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    distinct = len({p["patch"] for p in patches if p["patch"]})
    assert fake_openai.count("diff_explanation") == distinct == 3


def test_a_file_without_a_patch_is_explained_without_the_model(api, fake_openai, alice):
    answer = api.post("/diff", json={"file": "docs/logo.png", "patch": ""}, headers=alice)
    assert answer.status_code == 200 and "no line diff" in answer.json()["explanation"]
    assert fake_openai.count() == 0


def test_a_patch_larger_than_the_prompt_budget_is_cut_at_hunks_and_the_explanation_says_so(
    start_local_api, fake_github, fake_openai, alice
):
    add_item(fake_github, REPO, kind="pr", number=9, created_at=NOW - dt.timedelta(days=1))
    big = _patch("big", hunks=120, lines=8)
    set_files(fake_github, REPO, 9, [file_entry("src/big.py", big)])
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as api:
        patch = api.post("/patches", json={"repo_url": URL, "pull_request": "9"}, headers=alice).json()[
            "patches"
        ][0]
        assert patch["patch"] == big
        explanation = api.post("/diff", json=patch, headers=alice).json()["explanation"]
    assert "of 120 hunks" in explanation and len(explanation.split()) <= 50
    sent = fake_openai.requests[-1]["body"]["messages"][-1]["content"]
    assert '"cut": true' in sent and len(sent) < len(big)


def test_files_are_read_page_by_page_up_to_what_the_pull_request_changed(start_local_api, fake_github, alice):
    add_item(fake_github, REPO, kind="pr", number=11, created_at=NOW - dt.timedelta(days=1))
    set_files(
        fake_github, REPO, 11, [file_entry(f"f{i}.txt", f"@@ -1 +1 @@\n-{i}\n+{i + 1}") for i in range(250)]
    )
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as api:
        answer = api.post("/patches", json={"repo_url": URL, "pull_request": "11"}, headers=alice)
    assert answer.status_code == 200 and len(answer.json()["patches"]) == 250
    assert fake_github.count("GET", FILES) == 3 and fake_github.count("POST", GRAPHQL) == 1


def test_an_outsider_gets_404_for_a_private_repositorys_patches_deep_dive_and_diffs(
    start_local_api, fake_github, fake_openai, alice, carol, db
):
    fake_github.add_repo("octo/secret", private=True, visible_to={USERS.accounts["alice"].github_token})
    _seed(fake_github, "octo/secret", number=3)
    secret = "https://github.com/octo/secret"
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as api:
        owned = api.post("/patches", json={"repo_url": secret, "pull_request": "3"}, headers=alice)
        assert owned.status_code == 200
        patch = owned.json()["patches"][0]
        assert api.post("/diff", json=patch, headers=alice).status_code == 200
        assert (
            api.post("/deepdive", json={"repo_url": secret, "issue": "3"}, headers=alice).status_code == 200
        )
        llm = fake_openai.count()

        missing = api.post(
            "/patches",
            json={"repo_url": "https://github.com/octo/nothing", "pull_request": "3"},
            headers=carol,
        )
        body = assert_error(missing, 404, "not_found")
        assert (
            assert_error(
                api.post("/patches", json={"repo_url": secret, "pull_request": "3"}, headers=carol), 404
            )
            == body
        )
        assert (
            assert_error(api.post("/deepdive", json={"repo_url": secret, "issue": "3"}, headers=carol), 404)
            == body
        )
        assert_error(api.post("/diff", json=patch, headers=carol), 404, "patch_not_found")
    assert fake_openai.count() == llm


def test_the_offline_summariser_writes_the_four_sections_from_the_thread(offline_api, alice):
    deep = offline_api.post("/deepdive", json={"repo_url": URL, "issue": "7"}, headers=alice)
    assert deep.status_code == 200, deep.text
    text = deep.text
    assert [text.index(s) for s in SECTIONS] == sorted(text.index(s) for s in SECTIONS)
    assert "Add streaming support" in text and "@carol requested changes" in text
    assert "@bob: Could you add a test for the timeout?" in text
    assert "Address the changes requested by @carol." in text
    assert "the 2 most recent of 2 comments" in text
    patches = offline_api.post("/patches", json={"repo_url": URL, "pull_request": "7"}, headers=alice).json()[
        "patches"
    ]
    explanation = offline_api.post("/diff", json=patches[0], headers=alice).json()["explanation"]
    assert explanation.startswith("Adds 8 lines and removes 6 in src/app.py across 2 hunks")


def test_an_issue_has_no_reviews_section(offline_api, fake_github, alice):
    add_item(
        fake_github,
        REPO,
        kind="issue",
        number=20,
        title="Crash on empty config",
        created_at=NOW - dt.timedelta(days=1),
    )
    text = offline_api.post("/deepdive", json={"repo_url": URL, "issue": "20"}, headers=alice).text
    assert "## Summary" in text and "## Reviews" not in text and "## Action Items" in text


def test_a_new_comment_makes_a_new_deep_dive_once_the_stored_one_is_no_longer_fresh(
    api, fake_github, fake_openai, alice, db
):
    first = api.post("/deepdive", json={"repo_url": URL, "issue": "7"}, headers=alice).text
    add_comment(fake_github, REPO, 7, login="dave", body="Any update?", at=NOW)
    assert (
        api.post("/deepdive", json={"repo_url": URL, "issue": "7"}, headers=alice).text == first
    )  # still fresh
    db.execute(update(DeepDive).values(checked_at=func.now() - dt.timedelta(hours=1)))
    db.commit()
    second = api.post("/deepdive", json={"repo_url": URL, "issue": "7"}, headers=alice).text
    assert second != first and "3 comments" in second
    assert fake_openai.count("deep_dive") == 2
    assert db.scalar(select(func.count()).select_from(DeepDive)) == 2


def test_an_unchanged_thread_past_freshness_costs_one_github_request_and_no_model_request(
    api, fake_github, fake_openai, alice, db
):
    first = api.post("/deepdive", json={"repo_url": URL, "issue": "7"}, headers=alice).text
    db.execute(update(DeepDive).values(checked_at=func.now() - dt.timedelta(hours=1)))
    db.commit()
    before = fake_github.count()
    assert api.post("/deepdive", json={"repo_url": URL, "issue": "7"}, headers=alice).text == first
    assert fake_github.count() == before + 1 and fake_openai.count("deep_dive") == 1


def test_a_new_head_commit_fetches_the_files_again_once_the_stored_set_is_no_longer_fresh(
    api, fake_github, alice, db
):
    api.post("/patches", json={"repo_url": URL, "pull_request": "7"}, headers=alice)
    set_files(fake_github, REPO, 7, [file_entry("src/new.py", _patch("new"))])
    db.execute(update(PatchSet).values(checked_at=func.now() - dt.timedelta(hours=1)))
    db.commit()
    answer = api.post("/patches", json={"repo_url": URL, "pull_request": "7"}, headers=alice).json()
    assert [p["file"] for p in answer["patches"]] == ["src/new.py"]
    assert db.scalar(select(func.count()).select_from(PatchSet)) == 2


def test_the_daily_deep_dive_quota_is_a_429_with_retry_after_and_shared_ones_stay_free(
    api, fake_github, fake_openai, settings_env, alice, bob, db
):
    settings_env(DEEPDIVE_DAILY_QUOTA="1")
    add_item(fake_github, REPO, kind="issue", number=21, created_at=NOW - dt.timedelta(days=1))
    assert api.post("/deepdive", json={"repo_url": URL, "issue": "7"}, headers=alice).status_code == 200
    refused = api.post("/deepdive", json={"repo_url": URL, "issue": "21"}, headers=alice)
    body = assert_error(refused, 429, "deepdive_quota_exceeded")
    assert "rate limit" in body["detail"].lower() and int(refused.headers["retry-after"]) > 0
    assert api.post("/deepdive", json={"repo_url": URL, "issue": "7"}, headers=alice).status_code == 200
    assert api.post("/deepdive", json={"repo_url": URL, "issue": "21"}, headers=bob).status_code == 200
    assert db.scalar(select(DeepDiveUsage.count).where(DeepDiveUsage.user_id == 401)) == 1


def test_the_daily_diff_quota_counts_only_explanations_the_model_writes(
    api, fake_openai, settings_env, alice, bob
):
    settings_env(DIFF_DAILY_QUOTA="2")
    patches = api.post("/patches", json={"repo_url": URL, "pull_request": "7"}, headers=alice).json()[
        "patches"
    ]
    texts = [p for p in patches if p["patch"]]
    assert [api.post("/diff", json=p, headers=alice).status_code for p in texts[:2]] == [200, 200]
    assert_error(api.post("/diff", json=texts[2], headers=alice), 429, "diff_quota_exceeded")
    assert api.post("/diff", json=texts[0], headers=alice).status_code == 200  # stored: free
    assert api.post("/diff", json=texts[2], headers=bob).status_code == 200


@pytest.mark.parametrize(
    ("route", "body", "status", "code"),
    [
        ("/patches", {"repo_url": "https://gitlab.com/a/b", "pull_request": "7"}, 400, "invalid_repo"),
        ("/patches", {"repo_url": URL, "pull_request": "abc"}, 400, "invalid_number"),
        ("/patches", {"repo_url": URL, "pull_request": "0"}, 400, "invalid_number"),
        ("/patches", {"repo_url": URL, "pull_request": "9999999999"}, 400, "invalid_number"),
        ("/patches", {"repo_url": URL, "pull_request": "12345678901"}, 422, "validation_error"),
        ("/patches", {"repo_url": URL, "pull_request": 7}, 422, "validation_error"),
        ("/patches", {"repo_url": URL}, 422, "validation_error"),
        ("/deepdive", {"repo_url": URL, "issue": "-1"}, 400, "invalid_number"),
        ("/deepdive", {"repo_url": ["x"], "issue": "7"}, 422, "validation_error"),
        ("/diff", {"file": "a.py"}, 422, "validation_error"),
        ("/diff", {"file": "a.py", "patch": "x" * 200_001}, 422, "validation_error"),
        ("/diff", {"file": "a" * 1025, "patch": "@@ -1 +1 @@"}, 422, "validation_error"),
    ],
)
def test_malformed_input_is_a_4xx_and_writes_nothing(
    api, fake_github, fake_openai, alice, db, route, body, status, code
):
    assert_error(api.post(route, json=body, headers=alice), status, code)
    assert fake_github.count() == 0 and fake_openai.count() == 0
    for model in (PatchSet, FilePatch, PatchExplanation, DeepDive, DeepDiveUsage):
        assert db.scalar(select(func.count()).select_from(model)) == 0


def test_every_route_needs_a_session(api):
    for route in ("/patches", "/diff", "/deepdive"):
        assert_error(api.post(route, json={}, headers={"Origin": ORIGIN}), 401)


def test_a_number_that_is_no_pull_request_is_a_404(api, fake_github, alice):
    add_item(fake_github, REPO, kind="issue", number=30, created_at=NOW - dt.timedelta(days=1))
    assert_error(
        api.post("/patches", json={"repo_url": URL, "pull_request": "30"}, headers=alice),
        404,
        "pull_request_not_found",
    )
    assert_error(
        api.post("/deepdive", json={"repo_url": URL, "issue": "99"}, headers=alice), 404, "issue_not_found"
    )


def test_a_model_failure_is_a_502_that_stores_nothing_and_gives_the_quota_back(api, fake_openai, alice, db):
    fake_openai.fail(status=500, times=2, task="deep_dive")  # the answer and its one retry
    assert_error(api.post("/deepdive", json={"repo_url": URL, "issue": "7"}, headers=alice), 502)
    assert db.scalar(select(func.count()).select_from(DeepDive)) == 0
    assert db.scalar(select(func.count()).select_from(DeepDiveUsage)) == 0
    assert api.post("/deepdive", json={"repo_url": URL, "issue": "7"}, headers=alice).status_code == 200


def test_a_github_failure_is_a_502_that_stores_nothing(api, fake_github, alice, db):
    fake_github.fail("GET", FILES, status=500, times=10)
    assert_error(api.post("/patches", json={"repo_url": URL, "pull_request": "7"}, headers=alice), 502)
    assert db.scalar(select(func.count()).select_from(PatchSet)) == 0


def test_a_private_patch_is_explained_again_only_after_the_callers_token_reaches_the_repository(
    start_local_api, fake_github, fake_openai, alice, carol, db
):
    from oss_tldr.db.models import RepositoryAccessCheck

    fake_github.add_repo("octo/secret", private=True, visible_to={USERS.accounts["alice"].github_token})
    _seed(fake_github, "octo/secret", number=3)
    secret = "https://github.com/octo/secret"
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as api:
        patch = api.post("/patches", json={"repo_url": secret, "pull_request": "3"}, headers=alice).json()[
            "patches"
        ][0]
        db.execute(RepositoryAccessCheck.__table__.delete())  # the remembered access lapsed
        db.commit()
        before = fake_github.count("GET", r"^/repos/octo/secret$")
        assert api.post("/diff", json=patch, headers=alice).status_code == 200
        assert fake_github.count("GET", r"^/repos/octo/secret$") == before + 1  # shown again with her token
        assert_error(api.post("/diff", json=patch, headers=carol), 404, "patch_not_found")
        fresh = api.post("/patches", json={"repo_url": secret, "pull_request": "3"}, headers=carol)
        assert_error(fresh, 404, "not_found")
