"""The single flight of model work (oss_tldr.deepdive.flight) on the real database, with real threads: the
local API runs one invocation at a time like a Lambda container, so concurrency across containers is
exercised here directly."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, update

from oss_tldr.db.models import DeepDiveClaim
from oss_tldr.deepdive import flight
from oss_tldr.errors import ServiceUnavailable, UpstreamUnavailable


def test_concurrent_requests_for_one_key_produce_once_and_all_get_the_result(engine, db):
    stored: dict[str, str] = {}
    produced = []
    lock = threading.Lock()

    def produce() -> str:
        with lock:
            produced.append(1)
        time.sleep(0.3)
        stored["k"] = "the explanation"
        return stored["k"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: flight.once("k", lambda: stored.get("k"), produce), range(8)))
    assert len(produced) == 1
    assert [text for text, _ in results] == ["the explanation"] * 8
    assert sum(1 for _, by_me in results if by_me) == 1
    assert db.scalar(select(func.count()).select_from(DeepDiveClaim)) == 0  # released


def test_a_failed_attempt_stores_nothing_releases_its_claim_and_the_next_one_produces(engine, db):
    def fail() -> str:
        raise UpstreamUnavailable("the model failed")

    with pytest.raises(UpstreamUnavailable):
        flight.once("k", lambda: None, fail)
    assert db.scalar(select(func.count()).select_from(DeepDiveClaim)) == 0
    assert flight.once("k", lambda: None, lambda: "written") == ("written", True)


def test_a_claim_whose_lease_lapsed_is_taken_over_and_a_live_one_is_not(engine, db):
    assert flight.claim("k") is True
    assert flight.claim("k") is False
    db.execute(
        update(DeepDiveClaim).values(lease_expires_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 0, 1))
    )
    db.commit()
    assert flight.claim("k") is True


def test_a_follower_gives_up_with_a_503_when_the_holder_outlasts_the_wait(engine, monkeypatch):
    monkeypatch.setattr(flight, "WAIT_SECONDS", 0.3)
    assert flight.claim("k") is True  # another request holds it and never finishes here
    with pytest.raises(ServiceUnavailable) as info:
        flight.once("k", lambda: None, lambda: "never")
    assert info.value.code == "deep_dive_generating"
