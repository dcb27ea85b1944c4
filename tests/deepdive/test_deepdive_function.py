"""The deep-dive function invoked in-process with the `make invoke` events (events/deepdive*.json), as
`sam local invoke -e` would, against the fake GitHub (offline summariser: no OpenAI key)."""

from __future__ import annotations

import datetime as dt

from fixtures_identity import Account, Cast
from helpers import call

from tools.fakes.github_activity import add_item
from tools.fakes.github_pulls import add_comment, file_entry, set_files

USERS = Cast(alice=Account(451, "gho_fake_alice_deep_fn"))
PATCH = "@@ -1,2 +1,3 @@ def main():\n-    run()\n+    setup()\n+    run()"


def _pull_request_seven(fake_github) -> None:
    """octo/hello#7 of the events: one changed file (``PATCH``) and one comment."""
    now = dt.datetime.now(dt.UTC)
    add_item(
        fake_github,
        "octo/hello",
        kind="pr",
        number=7,
        title="Set up first",
        created_at=now - dt.timedelta(days=1),
    )
    set_files(fake_github, "octo/hello", 7, [file_entry("src/app.py", PATCH)])
    add_comment(fake_github, "octo/hello", 7, login="bob", body="Why set up first?", at=now)


def test_the_invoke_events_answer_patches_their_diff_and_the_deep_dive(fake_github, alice, lambda_context):
    _pull_request_seven(fake_github)
    status, body, _ = call("DeepDiveFunction", "deepdive_patches.json", lambda_context, headers=alice.headers)
    assert status == 200 and body == {"patches": [{"file": "src/app.py", "patch": PATCH}]}
    status, body, _ = call("DeepDiveFunction", "deepdive_diff.json", lambda_context, headers=alice.headers)
    assert status == 200 and body["explanation"].startswith("Adds 2 lines and removes 1 in src/app.py")
    answer = call("DeepDiveFunction", "deepdive.json", lambda_context, headers=alice.headers)
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/plain")
    assert "## Summary" in answer.text and "@bob: Why set up first?" in answer.text


def test_the_shared_answers_of_a_cold_start_load_no_miss_path_module(fake_github, alice, lambda_context):
    """What another user already had fetched and written (a stored patch set, explanation and deep dive)
    is served by a fresh interpreter, as a new Lambda container would, on Core statements only: no ORM, no
    OpenAI SDK, no httpx, no GitHub request (the bench's own request, an unknown patch, is tests/deploy's)."""
    from helpers import cold_start, load_event

    _pull_request_seven(fake_github)
    events = ("deepdive_patches.json", "deepdive_diff.json", "deepdive.json")
    for name in events:  # the first user's requests: fetched and written once, in this process
        assert call("DeepDiveFunction", name, lambda_context, headers=alice.headers).status == 200
    asked = len(fake_github.requests)
    for name in events:
        event = load_event(name)
        event["headers"]["authorization"] = alice.headers["authorization"]
        loaded = cold_start("functions/deepdive", event, 200)
        assert (name, loaded["sqlalchemy_orm"], loaded["openai"], loaded["httpx"]) == (
            name,
            False,
            False,
            False,
        )
    assert len(fake_github.requests) == asked


def test_the_events_without_a_session_are_401(lambda_context):
    for event in ("deepdive_patches.json", "deepdive_diff.json", "deepdive.json"):
        assert call("DeepDiveFunction", event, lambda_context).status == 401


def test_the_documented_number_pattern_is_exactly_what_the_logic_accepts():
    import re

    import pytest

    from oss_tldr.deepdive.models import NUMBER_PATTERN
    from oss_tldr.deepdive.service import parse_number
    from oss_tldr.errors import BadRequest

    for value in ("1", "9", "10", "999999999", "1000000000", "2147483647", "2147483646", "2099999999"):
        assert re.fullmatch(NUMBER_PATTERN, value) and parse_number(value) == int(value)
    for value in ("0", "01", "2147483648", "2200000000", "9999999999", "-1", "1.0", " 1", "abc", "", "١٢"):
        assert not re.fullmatch(NUMBER_PATTERN, value)
        with pytest.raises(BadRequest):
            parse_number(value)
