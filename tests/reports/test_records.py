"""The one writer of report rows and the one access-recording rule, on a real Postgres."""

from __future__ import annotations

import datetime as dt

import pytest
from fixtures_reports import StubPayload
from helpers import STATS_KEYS
from sqlalchemy import select, update

from oss_tldr.db import session_scope
from oss_tldr.db.models import Report, UserReportAccess
from oss_tldr.reports import records
from oss_tldr.reports.hit import find_section
from oss_tldr.reports.models import Fingerprint, ReportSlot

EXPIRES = dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)
FP = Fingerprint("extractive", "test-1")


def _write(slot: ReportSlot, payload: StubPayload, **kwargs) -> int | None:
    with session_scope() as session:
        return records.write_report(session, slot, payload, expires_at=EXPIRES, **kwargs)


def _accessed_at(db, user_id: int, report_id: int) -> dt.datetime:
    db.expire_all()
    return db.scalar(
        select(UserReportAccess.accessed_at).where(
            UserReportAccess.user_id == user_id, UserReportAccess.report_id == report_id
        )
    )


def _age_accesses(db, by: dt.timedelta) -> None:
    db.execute(update(UserReportAccess).values(accessed_at=UserReportAccess.accessed_at - by))
    db.commit()


@pytest.fixture
def slot(repository_row, cache_key):
    key = cache_key()
    return ReportSlot(repository_row(), key.timeframe, key.start, key.end)


def test_the_shared_row_of_a_key_is_replaced_in_place_keeping_its_id(slot, db):
    first = _write(slot, StubPayload(tldr="First."))
    second = _write(slot, StubPayload(tldr="Second\x00."))
    assert first is not None and first == second
    row = db.scalars(select(Report)).one()
    assert (row.tldr_text, row.owner_user_id, row.version) == ("Second.", None, records.REPORT_VERSION)


def test_the_window_counts_partial_mark_and_fallbacks_are_stored_and_a_partial_row_expires_soon(slot, db):
    stub = StubPayload(partial=True, fallbacks={"people": ["alice"]})
    report_id = _write(slot, stub)
    row = db.get(Report, report_id)
    assert row.stats == stub.stats.model_dump() and set(row.stats) == set(STATS_KEYS)
    assert (row.partial, row.fallbacks) == (True, {"people": ["alice"]})
    # Asked again within minutes, not at the full refresh period's end.
    assert row.expires_at - row.generated_at <= records.PARTIAL_REPORT_TTL < EXPIRES - row.generated_at
    # A whole answer afterwards replaces it, with the full period back.
    assert _write(slot, StubPayload()) == report_id
    db.expire_all()
    row = db.get(Report, report_id)
    assert (row.partial, row.fallbacks, row.expires_at) == (False, {}, EXPIRES)


def test_an_owned_copy_is_its_own_row_and_replaced_only_by_a_newer_one(slot, make_user, db):
    user = make_user(id=7, login="seven")
    shared = _write(slot, StubPayload(tldr="Shared."))
    owned = ReportSlot(slot.repository_id, slot.timeframe, slot.start, slot.end, owner_user_id=user.id)
    at = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    own = _write(owned, StubPayload(tldr="Mine."), generated_at=at, version=1)
    assert own is not None and own != shared
    assert _write(owned, StubPayload(tldr="Older."), generated_at=at - dt.timedelta(minutes=1)) is None
    assert _write(owned, StubPayload(tldr="Same."), generated_at=at) is None
    assert _write(owned, StubPayload(tldr="Newer."), generated_at=at + dt.timedelta(minutes=1)) == own
    db.expire_all()
    texts = {(r.owner_user_id, r.tldr_text) for r in db.scalars(select(Report))}
    assert texts == {(None, "Shared."), (user.id, "Newer.")}


def test_an_open_is_recorded_at_most_once_per_interval(slot, make_user, db):
    user = make_user(id=8, login="eight")
    report_id = _write(slot, StubPayload())
    records.record_access(user.id, report_id)
    first = _accessed_at(db, user.id, report_id)
    records.record_access(user.id, report_id)
    assert _accessed_at(db, user.id, report_id) == first  # within the interval: nothing written
    _age_accesses(db, records.ACCESS_RECORD_INTERVAL + dt.timedelta(seconds=5))
    aged = _accessed_at(db, user.id, report_id)
    records.record_access(user.id, report_id)
    assert _accessed_at(db, user.id, report_id) > aged


def test_the_cache_hit_records_an_access_under_the_same_rule(slot, make_user, db):
    user = make_user(id=9, login="nine")
    report_id = _write(slot, StubPayload())
    hit = (slot.timeframe, slot.start, slot.end, "prs", FP, user.id)
    assert find_section("octo/hello", *hit) is not None
    first = _accessed_at(db, user.id, report_id)
    assert find_section("octo/hello", *hit) is not None
    assert _accessed_at(db, user.id, report_id) == first
    _age_accesses(db, records.ACCESS_RECORD_INTERVAL + dt.timedelta(seconds=5))
    aged = _accessed_at(db, user.id, report_id)
    assert find_section("octo/hello", *hit) is not None
    assert _accessed_at(db, user.id, report_id) > aged


def test_a_report_put_in_the_history_without_an_open_keeps_its_access_moment(slot, make_user, db):
    user = make_user(id=10, login="ten")
    report_id = _write(slot, StubPayload())
    records.record_access(user.id, report_id)
    _age_accesses(db, dt.timedelta(hours=1))
    aged = _accessed_at(db, user.id, report_id)
    with session_scope() as session:
        session.execute(records.access_upsert(user.id, report_id, opened=False))
    assert _accessed_at(db, user.id, report_id) == aged
