"""The API's keyset pagination: page sizes and the opaque cursor of a listing's position.

A cursor is the base64url (unpadded) JSON ``[moment ISO 8601, row id]`` of the last row of a page; the
logic sees only the decoded position (``oss_tldr.reports.models.Keyset``). Decoding refuses anything we
did not issue with 400 ``invalid_cursor``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json

from oss_tldr.errors import BadRequest
from oss_tldr.reports.models import Keyset

MAX_PAGE = 100  # the largest ``limit`` of a listing
# The moments a cursor can name (in UTC): anything outside these years was not issued by us, and year 1 or
# 9999 in another time zone is out of Python's range once converted to UTC.
CURSOR_YEARS = (1970, 9999)
MAX_CURSOR_CHARS = 200


def encode_cursor(position: Keyset | None) -> str | None:
    """The cursor of a position (None, the last page's "next", stays None)."""
    if position is None:
        return None
    moment, row_id = position
    raw = json.dumps([moment.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, max_id: int) -> Keyset | None:
    """The keyset position of an opaque cursor (None or empty: the first page); :class:`BadRequest` (400
    ``invalid_cursor``) for anything we did not issue: not our encoding, a moment outside
    :data:`CURSOR_YEARS`, or an id outside ``1..max_id`` (the range of the keyset's id column)."""
    if not cursor:
        return None
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("cursor too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment_text, row_id = json.loads(raw)
        moment = dt.datetime.fromisoformat(moment_text)
        if moment.tzinfo is None or not isinstance(row_id, int) or isinstance(row_id, bool):
            raise ValueError("bad cursor")
        moment = moment.astimezone(dt.UTC)
        if not CURSOR_YEARS[0] <= moment.year <= CURSOR_YEARS[1] or not 1 <= row_id <= max_id:
            raise ValueError("cursor out of range")
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor") from exc
    return moment, row_id
