"""Bounds on a request's JSON body and parameters, checked on the raw text before anything parses it.

``json.loads`` recurses once per nesting level (a 20,000-deep array is a ``RecursionError``), Python refuses
to turn more than 4,300 digits into an ``int`` (a ``ValueError``), and ``"\\u0000"`` or a lone ``"\\ud800"``
parse into strings PostgreSQL cannot store. Each of these was a 500; here each is a 422 with its own code:

* ``body_too_deep``: arrays and objects nested deeper than :data:`MAX_DEPTH`;
* ``number_too_long``: a number literal longer than :data:`MAX_NUMBER_CHARS` characters;
* ``invalid_text``: the escape ``\\u0000``, an unpaired surrogate escape (``\\ud800``-``\\udfff``), or a raw
  NUL or surrogate, in any string of the body (keys too) or in a query or path parameter — refused cheaply
  by the text scan where it can see them, and exactly by :func:`check_json_value` on what was parsed;
* ``validation_error``: ``NaN`` / ``Infinity``, which Python accepts and JSON does not.

The check is a few regular-expression passes over the text (C speed, linear, no loop over tokens in
Python): a small body costs a few microseconds, the largest import (5 MB) tens of milliseconds, less than
parsing it. The hot GET routes have no body and only pay for their few parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import accumulate

from oss_tldr.errors import ValidationFailed
from oss_tldr.text import has_unstorable

MAX_DEPTH = 32  # the deepest body we accept (the old client's export) nests 7 levels
MAX_NUMBER_CHARS = 64  # an int64 is 20 characters; a float's repr at most 24

# A JSON string once its escaped backslashes and quotes are gone (then every quote is a delimiter). An
# unterminated one runs to the end of the text, so a match never fails and is never retried: linear time.
_STRING = re.compile(r'"[^"]*"?')
# A well-formed surrogate pair (an ordinary character outside the BMP, e.g. an emoji): what is left of a NUL
# or surrogate escape once escaped backslashes and these pairs are gone is a NUL or a lone surrogate.
_SURROGATE_PAIR = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_LONG_NUMBER = re.compile(r"[-+.0-9eE]{" + str(MAX_NUMBER_CHARS + 1) + ",}")
_NOT_JSON_WORD = re.compile(r"NaN|Infinity")
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}

INVALID_TEXT = "Invalid request: text may not contain NUL characters or unpaired UTF-16 surrogates."


def _invalid_text() -> ValidationFailed:
    return ValidationFailed(INVALID_TEXT, code="invalid_text")


def check_parameters(values: Iterable[str | None]) -> None:
    """Query and path parameters: no NUL, no surrogate (422 ``invalid_text``)."""
    for value in values:
        if value and has_unstorable(value):
            raise _invalid_text()


def check_json_text(body: str) -> None:
    """Raise :class:`ValidationFailed` (422) when ``body`` is JSON we refuse to parse; see the module.

    Every step is a string method or one regular-expression pass (C speed, linear in the text), and a body
    that cannot hold a fault (no escape, few brackets, no long digit run) stops after the cheap ones.
    In valid JSON the view outside strings is exact; in invalid JSON it is exact up to the first error,
    which is as far as ``json.loads`` gets before it fails."""
    if not body:
        return
    if "\x00" in body or (not body.isascii() and has_unstorable(body)):
        raise _invalid_text()
    if "\\" in body:
        # Escaped backslashes first (str.replace pairs them from the left, as JSON does): what follows one
        # is text, never an escape.
        body = body.replace("\\\\", "")
        if _SUSPECT_ESCAPE.search(body) and _SUSPECT_ESCAPE.search(_SURROGATE_PAIR.sub("", body)):
            raise _invalid_text()
        body = body.replace('\\"', "")
    if (
        body.count("[") + body.count("{") <= MAX_DEPTH
        and _LONG_NUMBER.search(body) is None
        and "NaN" not in body
        and "Infinity" not in body
    ):
        return  # nothing here can be too deep, a too long number or a non-JSON word
    outside_strings = _STRING.sub("", body)
    if _LONG_NUMBER.search(outside_strings):
        raise ValidationFailed(
            f"Invalid request: a number is longer than {MAX_NUMBER_CHARS} characters.", code="number_too_long"
        )
    if _NOT_JSON_WORD.search(outside_strings):
        raise ValidationFailed("Invalid request: NaN and Infinity are not JSON.", code="validation_error")
    if _too_deep(_NOT_BRACKET.sub("", outside_strings)):
        raise ValidationFailed(
            f"Invalid request: the body nests deeper than {MAX_DEPTH} levels.", code="body_too_deep"
        )


def _too_deep(brackets: str, chunk: int = 65_536) -> bool:
    """Whether the running depth of ``brackets`` (only ``[]{}``) ever exceeds :data:`MAX_DEPTH`, a chunk at
    a time so that a deep body stops early."""
    depth = 0
    for start in range(0, len(brackets), chunk):
        steps = map(_DEPTH_STEP.__getitem__, brackets[start : start + chunk])
        running = list(accumulate(steps, initial=depth))
        if max(running) > MAX_DEPTH:
            return True
        depth = running[-1]
    return False


def check_json_value(value: object) -> None:
    """The parsed body, exactly: no string (key or value) holds a NUL or a lone surrogate (422
    ``invalid_text``). The scan of the text before parsing refuses most such bodies cheaply; this walk of
    what ``json.loads`` actually produced is the exact rule (escape sequences can be arranged so that no
    text scan short of a JSON decoder sees them: ``"\\ud800\\\\\\udc00"`` decodes to two lone halves).
    Depth is already bounded (:data:`MAX_DEPTH`), so the recursion is too."""
    if isinstance(value, str):
        if has_unstorable(value):
            raise _invalid_text()
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json_value(key)
            check_json_value(item)
    elif isinstance(value, list):
        for item in value:
            check_json_value(item)
