"""The API's cursor codec (oss_tldr.api.pagination): what it issues decodes back; nothing else does."""

from __future__ import annotations

import datetime as dt

import pytest

from oss_tldr.api.pagination import MAX_CURSOR_CHARS, decode_cursor, encode_cursor
from oss_tldr.errors import BadRequest

MOMENT = dt.datetime(2026, 11, 20, 9, 41, 7, 123456, tzinfo=dt.UTC)


def test_an_issued_cursor_decodes_to_its_position():
    cursor = encode_cursor((MOMENT, 42))
    assert cursor is not None and "=" not in cursor
    assert decode_cursor(cursor, max_id=100) == (MOMENT, 42)


def test_no_position_is_no_cursor_and_no_cursor_is_the_first_page():
    assert encode_cursor(None) is None
    assert decode_cursor(None, max_id=100) is None
    assert decode_cursor("", max_id=100) is None


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        encode_cursor((MOMENT, 101)),  # beyond the id column
        encode_cursor((MOMENT, 0)),
        encode_cursor((dt.datetime(1969, 12, 31, tzinfo=dt.UTC), 1)),
        "A" * (MAX_CURSOR_CHARS + 1),
    ],
)
def test_anything_else_is_400_invalid_cursor(cursor):
    with pytest.raises(BadRequest) as refused:
        decode_cursor(cursor, max_id=100)
    assert refused.value.code == "invalid_cursor"
