"""POST /webhooks/github in-process through its route (real Postgres; the fake GitHub for the report that a
delivery marks stale): the signature (GitHub's test vector, valid, invalid, missing, no secret), a delivery
stored once, and an activity event making that repository's live report a miss while another's stays a hit."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any

import pytest
from fixtures_identity import Account, Cast
from helpers import call_route, invoke, load_event
from sqlalchemy import func, select

from oss_tldr.db.models import Report, Repository, WebhookDelivery
from oss_tldr.webhooks.signature import sign, verify_signature
from tools.fakes.github_activity import seed_activity

SECRET = "webhook-test-secret"
LOCAL_SECRET = (
    "local-webhook-secret"  # events/webhooks_issue_comment.json is signed with it (docs/operations.md)
)
GRAPHQL = r"^/graphql$"
USERS = Cast(alice=Account(101, "gho_fake_alice"))


@pytest.fixture
def secret(settings_env):
    settings_env(GITHUB_WEBHOOK_SECRET=SECRET, GITHUB_WEBHOOK_SECRET_ARN=None)
    return SECRET


def deliver(
    event: str,
    payload: dict[str, Any] | bytes,
    *,
    delivery: str | None = None,
    signature: str | None = "sign",
    key: str = SECRET,
) -> Any:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4())}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = sign(key, raw)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return call_route(None, "POST", "/webhooks/github", raw_body=raw, headers=headers)


def deliveries(db) -> int:
    return db.scalar(select(func.count()).select_from(WebhookDelivery))


def comment_on(full_name: str, github_id: int | None) -> dict[str, Any]:
    repository: dict[str, Any] = {"full_name": full_name, "name": full_name.split("/")[1]}
    if github_id is not None:
        repository["id"] = github_id
    return {"action": "created", "issue": {"number": 1}, "comment": {"body": "hi"}, "repository": repository}


# --------------------------------------------------------------------------------- the signature
def test_githubs_published_test_vector_verifies():
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert verify_signature("It's a Secret to Everybody", b"Hello, World!", header)
    assert sign("It's a Secret to Everybody", b"Hello, World!") == header
    assert not verify_signature("It's a Secret to Everybody", b"Hello, World!!", header)
    assert not verify_signature("another secret", b"Hello, World!", header)
    assert not verify_signature(None, b"Hello, World!", header)
    assert not verify_signature("It's a Secret to Everybody", b"Hello, World!", None)
    assert not verify_signature("It's a Secret to Everybody", b"Hello, World!", header.replace("256", "1"))
    assert not verify_signature("It's a Secret to Everybody", b"Hello, World!", header[:-2])


def test_a_validly_signed_ping_is_200_and_stored_processed(engine, db, secret):
    answer = deliver("ping", {"zen": "Keep it logically awesome.", "hook_id": 1}, delivery="d-ping")
    assert answer.status == 200
    assert answer.json() == {"delivery": "d-ping", "event": "ping", "duplicate": False, "stale_reports": 0}
    row = db.scalars(select(WebhookDelivery)).one()
    assert (row.delivery_id, row.event, row.processed_at is not None) == ("d-ping", "ping", True)


@pytest.mark.parametrize(
    "signature",
    [
        None,  # missing
        "",
        "sha256=" + "0" * 64,  # wrong
        "sha1=" + "0" * 40,  # another algorithm
        "sha256=zz",  # malformed
        "other",
    ],
)
def test_a_missing_or_bad_signature_is_401_and_stores_nothing(engine, db, secret, signature):
    answer = deliver("issue_comment", comment_on("octo/hello", 1), signature=signature)
    assert answer.status == 401
    assert answer.json()["code"] == "invalid_signature" and answer.json()["detail"]
    assert deliveries(db) == 0


def test_a_signature_under_another_secret_is_401(engine, db, secret):
    assert deliver("ping", {"zen": "z"}, key="not-the-secret").status == 401
    assert deliveries(db) == 0


def test_without_a_secret_every_webhook_is_refused(engine, db, settings_env):
    settings_env(GITHUB_WEBHOOK_SECRET=None, GITHUB_WEBHOOK_SECRET_ARN=None)
    answer = deliver("ping", {"zen": "z"}, key="")
    assert answer.status == 401 and answer.json()["code"] == "webhook_secret_unset"
    assert deliveries(db) == 0


def test_the_signature_is_over_the_exact_bytes_even_base64_encoded(engine, db, secret):
    raw = '{"zen": "caf\u00e9",   "hook_id": 2}'.encode()
    event = load_event("webhooks_issue_comment.json")
    event["headers"].update(
        {"x-github-event": "ping", "x-github-delivery": "d-b64", "x-hub-signature-256": sign(SECRET, raw)}
    )
    event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
    assert invoke("WebhooksFunction", event).status == 200
    # the same bytes re-serialised (what parsing and dumping would give) do not verify
    reserialised = json.dumps(json.loads(raw)).encode()
    assert not verify_signature(SECRET, reserialised, sign(SECRET, raw))


def test_a_signed_body_that_is_not_a_json_object_is_422_and_stores_nothing(engine, db, secret):
    assert deliver("ping", b"[1, 2]").status == 422
    assert deliver("ping", b"not json").status == 422
    assert deliveries(db) == 0


def test_a_body_past_the_limit_is_413_before_anything(engine, db, secret):
    big = json.dumps({"zen": "x" * (2 * 1024 * 1024)}).encode()
    answer = deliver("ping", big)
    assert answer.status == 413 and answer.json()["code"] == "payload_too_large"
    assert deliveries(db) == 0


def test_an_unknown_event_is_202_stored_and_changes_nothing(engine, db, secret):
    answer = deliver("star", {"action": "created", "repository": {"id": 5, "full_name": "octo/x"}})
    assert answer.status == 202 and answer.json()["stale_reports"] == 0
    row = db.scalars(select(WebhookDelivery)).one()
    assert (row.event, row.action, row.repository_github_id, row.repository_full_name) == (
        "star",
        "created",
        5,
        "octo/x",
    )


# --------------------------------------------------------------------------------- effect on reports
@pytest.fixture
def two_reports(fake_github, alice, db):
    """Live shared reports of octo/hello and octo/other, generated through the section route."""
    now = dt.datetime.now(dt.UTC)
    seed_activity(fake_github, "octo/hello", now=now, prs=6, issues=4, seed=3)
    seed_activity(fake_github, "octo/other", now=now, prs=6, issues=4, seed=4)
    for repo in ("octo/hello", "octo/other"):
        assert section(alice, repo).json()["cached"] is False
    fake_github.reset_counts()
    ids = dict(db.execute(select(Repository.full_name, Repository.github_id)).all())
    assert ids["octo/hello"] is not None
    return ids


def section(user: Any, repo: str) -> Any:
    answer = call_route(user, "GET", f"/api/v1/reports/{repo}/prs", query="timeframe=last_week")
    assert answer.status == 200
    return answer


def test_an_issue_comment_makes_that_repositorys_report_regenerate_and_no_other(
    engine, db, secret, fake_github, alice, two_reports
):
    answer = deliver("issue_comment", comment_on("octo/hello", two_reports["octo/hello"]), delivery="d-1")
    assert answer.status == 200 and answer.json()["stale_reports"] == 1

    assert section(alice, "octo/other").json()["cached"] is True  # another repository: still a hit
    assert fake_github.count() == 0
    assert section(alice, "octo/hello").json()["cached"] is False  # missed: regenerated
    assert fake_github.count("POST", GRAPHQL) == 1 and fake_github.count() == 1
    assert section(alice, "octo/hello").json()["cached"] is True  # and a hit again


def test_a_duplicate_delivery_is_a_2xx_no_op(engine, db, secret, fake_github, alice, two_reports):
    payload = comment_on("octo/hello", two_reports["octo/hello"])
    assert deliver("issue_comment", payload, delivery="d-dup").json()["stale_reports"] == 1
    section(alice, "octo/hello")  # regenerated: live again
    before = dict(db.execute(select(Report.id, Report.expires_at)).all())
    fake_github.reset_counts()

    again = deliver("issue_comment", payload, delivery="d-dup")
    assert again.status == 200
    assert again.json() == {
        "delivery": "d-dup",
        "event": "issue_comment",
        "duplicate": True,
        "stale_reports": 0,
    }
    assert deliveries(db) == 1
    db.expire_all()
    assert dict(db.execute(select(Report.id, Report.expires_at)).all()) == before  # reports untouched
    assert section(alice, "octo/hello").json()["cached"] is True and fake_github.count() == 0


@pytest.mark.parametrize("event", ["issues", "pull_request", "pull_request_review"])
def test_each_activity_event_marks_the_repository_found_by_name_when_no_id(
    engine, db, secret, alice, two_reports, event
):
    answer = deliver(event, comment_on("Octo/Hello", None))
    assert answer.status == 200 and answer.json()["stale_reports"] == 1


def test_a_name_now_leading_to_another_repository_marks_nothing(engine, db, secret, alice, two_reports):
    # GitHub says "octo/hello" is repository 999999, which is not the row this service has under that name
    answer = deliver("issues", comment_on("octo/hello", 999_999))
    assert answer.status == 200 and answer.json()["stale_reports"] == 0


def test_an_unknown_repository_is_stored_and_marks_nothing(engine, db, secret, alice, two_reports):
    answer = deliver("issues", comment_on("octo/unknown", 424242))
    assert answer.status == 200 and answer.json()["stale_reports"] == 0 and deliveries(db) == 1


def test_the_sample_event_is_signed_with_the_documented_local_secret(engine, db, settings_env):
    settings_env(GITHUB_WEBHOOK_SECRET=LOCAL_SECRET, GITHUB_WEBHOOK_SECRET_ARN=None)
    event = load_event("webhooks_issue_comment.json")
    answer = invoke("WebhooksFunction", event)
    assert answer.status == 200 and answer.json()["event"] == "issue_comment"
    assert deliveries(db) == 1
