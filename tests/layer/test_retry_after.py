"""The one reader of an upstream's Retry-After (GitHub and OpenAI): never an exception, always a wait within
an hour or None, and the one rounding to a domain error's whole seconds."""

from __future__ import annotations

import email.utils

import pytest

from oss_tldr.retry_after import MAX_SECONDS, parse_reset_at, parse_retry_after, whole_seconds

NOW = 1_800_000_000.0


@pytest.mark.parametrize("value,wait", [("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("2.5", 2.5)])
def test_delta_seconds_are_the_wait(value, wait):
    assert parse_retry_after(value, NOW) == wait


def test_an_http_date_in_the_future_is_the_seconds_until_it():
    assert parse_retry_after(email.utils.formatdate(NOW + 90, usegmt=True), NOW) == pytest.approx(90, abs=1)


def test_an_http_date_in_the_past_is_no_wait():
    assert parse_retry_after(email.utils.formatdate(NOW - 90, usegmt=True), NOW) == 0.0


def test_an_http_date_without_a_zone_is_utc():
    moment = email.utils.formatdate(NOW + 30, usegmt=True).replace("GMT", "-0000")
    assert parse_retry_after(moment, NOW) == pytest.approx(30, abs=1)


@pytest.mark.parametrize("value", ["1e400", "inf", "99999999999", email.utils.formatdate(NOW + 86400 * 365)])
def test_a_huge_wait_is_clamped_to_an_hour(value):
    assert parse_retry_after(value, NOW) == MAX_SECONDS == 3600.0


@pytest.mark.parametrize("value", ["-5", "-30.5"])
def test_a_negative_delta_is_no_wait(value):
    assert parse_retry_after(value, NOW) == 0.0


@pytest.mark.parametrize(
    "value", ["nan", "-inf", "-1e400", "soon", "Tue, 99 Foo 2026", "12 seconds", "x" * 10_000]
)
def test_what_is_neither_seconds_nor_a_date_says_nothing(value):
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize("value", [None, "", "   "])
def test_an_absent_or_empty_header_says_nothing(value):
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize(
    "value,wait",
    [(str(int(NOW) + 120), 120.0), (str(int(NOW) - 5), 0.0), ("-5", 0.0), (str(int(NOW) + 10**9), 3600.0)],
)
def test_a_reset_time_is_the_seconds_until_it(value, wait):
    assert parse_reset_at(value, NOW) == wait


@pytest.mark.parametrize("value", [None, "", "garbage", "1e400", "nan", "inf"])
def test_a_reset_that_is_not_a_finite_time_says_nothing(value):
    assert parse_reset_at(value, NOW) is None


@pytest.mark.parametrize(
    "wait,seconds", [(0.0, 1), (0.2, 1), (7.0, 7), (119.3, 120), (3600.0, 3600), (99999.0, 3600), (-4.0, 1)]
)
def test_a_wait_becomes_whole_seconds_rounded_up_within_one_to_3600(wait, seconds):
    assert whole_seconds(wait, default=60) == seconds


def test_no_wait_given_is_the_callers_default():
    assert whole_seconds(None, default=20) == 20
