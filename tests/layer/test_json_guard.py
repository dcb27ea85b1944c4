"""oss_tldr.api.json_guard: the raw-text bounds on a JSON body, case by case (the HTTP behaviour is in
tests/contract/test_hostile_input.py)."""

from __future__ import annotations

import json

import pytest

from oss_tldr.api.json_guard import MAX_DEPTH, MAX_NUMBER_CHARS, check_json_text, check_parameters
from oss_tldr.errors import ValidationFailed


def _code(text: str) -> str | None:
    try:
        check_json_text(text)
    except ValidationFailed as exc:
        assert exc.status == 422
        return exc.code
    return None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "body_too_deep"),
        ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "body_too_deep"),
        ("[[]" * 200, "body_too_deep"),  # never a long run of openings, still deep
        ("[" * 100_000, "body_too_deep"),  # invalid JSON, but json.loads would recurse before failing
        ("[" + "1" * (MAX_NUMBER_CHARS + 1) + "]", "number_too_long"),
        ("[1e" + "9" * MAX_NUMBER_CHARS + "]", "number_too_long"),
        ('["\\u0000"]', "invalid_text"),
        ('["\\\\\\u0000"]', "invalid_text"),  # an escaped backslash, then a real NUL escape
        ('["\\ud800"]', "invalid_text"),
        ('["\\ud800x\\udc00"]', "invalid_text"),  # the halves are not adjacent
        ('["\\\\ud800\\udc00"]', "invalid_text"),  # "\\ud800" is text: the low half is alone
        ('["\\udc00\\ud800"]', "invalid_text"),  # low then high is no pair
        ('["a\x00b"]', "invalid_text"),
        ('["a\ud800b"]', "invalid_text"),
        ("[NaN]", "validation_error"),
        ('{"a": -Infinity}', "validation_error"),
    ],
)
def test_hostile_json_text_is_refused_with_its_code(text, code):
    assert _code(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        "[" * MAX_DEPTH + "]" * MAX_DEPTH,
        "[" + "[]" * 50_000 + "]",  # many brackets, shallow
        json.dumps({"a": "[" * 1000 + "{" * 1000}),  # brackets inside a string
        json.dumps({"a": "1" * 5000, "b": "NaN Infinity"}),  # digits and words inside a string
        json.dumps({"a": 'quote " and backslash \\ and "[[["'}),
        '["\\\\u0000"]',  # an escaped backslash followed by the text u0000
        '["\\ud83e\\udd84", "\\uD83E\\uDD84"]',  # a surrogate pair (an emoji), either case
        json.dumps({"t": "🦄" * 1000}),  # ensure_ascii: a thousand pairs
        json.dumps({"t": "🦄 é \u2028"}, ensure_ascii=False),
        "[" + "1" * MAX_NUMBER_CHARS + "]",
        "[-1.5e-10, 1E+300, 9223372036854775807]",
    ],
)
def test_ordinary_json_passes(text):
    assert _code(text) is None


def test_a_parameter_with_nul_or_a_surrogate_is_invalid_text():
    check_parameters(["octo/hello", None, "", "é🦄"])
    for value in ("a\x00", "\ud800"):
        with pytest.raises(ValidationFailed) as err:
            check_parameters(["ok", value])
        assert err.value.code == "invalid_text"
