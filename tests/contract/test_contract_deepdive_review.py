"""Review of the deep dive (issue 11): what a private repository's patches and explanations must not give away
to a caller who cannot see it, through the local API with the fake GitHub (offline summariser: its
explanation names the file it explained)."""

from __future__ import annotations

import datetime as dt
import json

import httpx
from fixtures_identity import Account, Cast
from helpers import assert_error

from tools.fakes.github_activity import add_item
from tools.fakes.github_pulls import file_entry, set_files
from tools.fakes.issue_search import iso

ORIGIN = "http://localhost:5173"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
PATCH = "@@ -1,2 +1,3 @@ def main():\n-    old()\n+    new()\n+    more()"

USERS = Cast(
    alice=Account(411, "gho_fake_alice_review"),
    carol=Account(413, "gho_fake_carol_review"),
    origin=ORIGIN,
)


def _pull(fake, repo: str, file: str, number: int = 5) -> None:
    add_item(fake, repo, kind="pr", number=number, created_at=NOW - dt.timedelta(days=1))
    set_files(fake, repo, number, [file_entry(file, PATCH)])


def test_an_explanation_written_for_a_private_file_is_not_served_for_the_same_text_in_a_public_repository(
    start_local_api, fake_github, alice, carol
):
    fake_github.add_repo("octo/secret", private=True, visible_to={USERS.accounts["alice"].github_token})
    _pull(fake_github, "octo/secret", "acquisition/target-list.py")
    _pull(fake_github, "octo/hello", "src/app.py")
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as api:
        secret = {"repo_url": "https://github.com/octo/secret", "pull_request": "5"}
        private = api.post("/patches", json=secret, headers=alice).json()["patches"][0]
        assert "acquisition/target-list.py" in api.post("/diff", json=private, headers=alice).text

        hello = {"repo_url": "https://github.com/octo/hello", "pull_request": "5"}
        public = api.post("/patches", json=hello, headers=carol).json()["patches"][0]
        assert public["patch"] == private["patch"]
        answer = api.post("/diff", json=public, headers=carol)
    assert answer.status_code == 200, answer.text
    assert "acquisition" not in answer.text and "src/app.py" in answer.json()["explanation"]


def test_a_patch_known_only_from_a_private_repository_answers_an_outsider_exactly_as_an_unknown_one(
    start_local_api, fake_github, alice, carol
):
    """Whatever GitHub answers the outsider's token (here: revoked), a text some private repository holds
    is the never-served patch's 404, or the status would tell the outsider that the text exists."""
    fake_github.add_repo("octo/secret", private=True, visible_to={USERS.accounts["alice"].github_token})
    _pull(fake_github, "octo/secret", "src/app.py")
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as api:
        secret = {"repo_url": "https://github.com/octo/secret", "pull_request": "5"}
        private = api.post("/patches", json=secret, headers=alice).json()["patches"][0]
        revoked = {"message": "Bad credentials"}
        fake_github.fail("GET", r"^/repos/", status=401, body=revoked, times=5)  # her token was revoked
        unknown = api.post("/diff", json={"file": "src/app.py", "patch": PATCH + "\n+x"}, headers=carol)
        known = api.post("/diff", json=private, headers=carol)
    assert assert_error(known, 404, "patch_not_found") == assert_error(unknown, 404, "patch_not_found")


LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024  # a synchronous invocation's response payload, envelope included


def test_a_pull_request_whose_patches_outweigh_a_lambda_response_lists_the_rest_without_their_patch(
    start_local_api, fake_github, alice
):
    lines = "\n".join(f'+    value_{i} = "{i:0>40}"' for i in range(3_000))  # ≈ 175,000 characters
    patches = [f"@@ -0,0 +1,3001 @@\n{lines}\n+# file {n}" for n in range(40)]
    add_item(fake_github, "octo/hello", kind="pr", number=6, created_at=NOW - dt.timedelta(days=1))
    set_files(fake_github, "octo/hello", 6, [file_entry(f"gen/f{n}.py", p) for n, p in enumerate(patches)])
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=120) as api:
        answer = api.post(
            "/patches", json={"repo_url": "https://github.com/octo/hello", "pull_request": "6"}, headers=alice
        )
        assert answer.status_code == 200, answer.text[:300]
        envelope = json.dumps({"statusCode": 200, "headers": dict(answer.headers), "body": answer.text})
        assert len(envelope.encode()) < LAMBDA_RESPONSE_BYTES
        served = answer.json()["patches"]
        assert [p["file"] for p in served] == [f"gen/f{n}.py" for n in range(40)]
        assert served[0]["patch"] == patches[0] and served[-1]["patch"] == ""
        assert api.post("/diff", json=served[0], headers=alice).status_code == 200


def test_an_upstream_answer_with_more_comments_than_asked_for_is_read_only_up_to_the_bound(
    start_local_api, fake_github, alice
):
    """The thread query asks for the 60 most recent comments and 30 reviews; an answer carrying more (an
    untrusted upstream) is cut to them, not summarised (and sent to the model) whole."""
    post = {"author": {"__typename": "User", "login": "bob"}, "body": "Please fix it.", "createdAt": iso(NOW)}
    review = {**post, "state": "COMMENTED", "submittedAt": iso(NOW)}
    answer = {
        "data": {
            "repository": {
                "databaseId": 77,
                "id": "R_77",
                "name": "hello",
                "nameWithOwner": "octo/hello",
                "url": "https://github.com/octo/hello",
                "description": None,
                "isPrivate": False,
                "isFork": False,
                "isArchived": False,
                "stargazerCount": 1,
                "pushedAt": iso(NOW),
                "owner": {"__typename": "User", "login": "octo"},
                "primaryLanguage": None,
                "issueOrPullRequest": {
                    "__typename": "PullRequest",
                    "number": 8,
                    "title": "Big thread",
                    "url": "https://github.com/octo/hello/pull/8",
                    "closed": False,
                    "body": "A body.",
                    "createdAt": iso(NOW - dt.timedelta(days=1)),
                    "updatedAt": iso(NOW),
                    "author": {"__typename": "User", "login": "alice"},
                    "comments": {"totalCount": 500, "nodes": [post] * 500},
                    "mergedAt": None,
                    "isDraft": False,
                    "reviews": {"totalCount": 300, "nodes": [review] * 300},
                },
            }
        }
    }
    fake_github.fail("POST", r"^/graphql$", status=200, body=answer)
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as api:
        deep = api.post(
            "/deepdive", json={"repo_url": "https://github.com/octo/hello", "issue": "8"}, headers=alice
        )
    assert deep.status_code == 200, deep.text
    assert "the 60 most recent of 500 comments and the 30 most recent of 300 reviews" in deep.text


def test_githubs_404_on_the_files_request_is_the_missing_repositorys_404(start_local_api, fake_github, alice):
    """The repository gone (or its access lost) between the head query and the files pages: the second
    request's 404 is the same answer as the first's, the missing repository's, and nothing is stored."""
    _pull(fake_github, "octo/hello", "src/app.py")
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as api:
        missing = api.post(
            "/patches",
            json={"repo_url": "https://github.com/octo/nothing", "pull_request": "5"},
            headers=alice,
        )
        fake_github.fail("GET", r"^/repos/octo/hello/pulls/5/files$", status=404, times=5)
        gone = api.post(
            "/patches", json={"repo_url": "https://github.com/octo/hello", "pull_request": "5"}, headers=alice
        )
    assert assert_error(gone, 404) == assert_error(missing, 404)


def test_a_claim_the_database_does_not_let_go_does_not_hide_the_works_answer(engine, monkeypatch):
    from oss_tldr.deepdive import flight

    def database_away(*args: object, **kwargs: object) -> None:
        raise RuntimeError("connection reset")

    result = flight.once("review-key", lambda: None, lambda: "written")
    assert result == ("written", True)
    monkeypatch.setattr(flight, "connection_scope", database_away)  # the release's transaction fails
    monkeypatch.setattr(flight, "claim", lambda key: True)
    assert flight.once("review-key-2", lambda: None, lambda: "written") == ("written", True)
