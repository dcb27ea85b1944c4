"""Summary rules that need no server: word limits, answer validation, truncation, extractive text."""

from __future__ import annotations

import json

import pytest

from oss_tldr.reports.summarise import (
    BODY_TOKENS,
    ExtractiveSummariser,
    ItemInput,
    clip_words,
    truncate_to_tokens,
)
from oss_tldr.reports.summarise.validation import InvalidAnswer, parse_digest, parse_item_summaries


def _item(**kw) -> ItemInput:
    values = {"number": 1, "kind": "pr", "title": "Fix the parser", "body": "", "author": "alice"}
    values["state"] = "open"
    values.update(kw)
    return ItemInput(**values)


def test_clip_words_keeps_short_text_and_cuts_long_text():
    assert clip_words("one  two\nthree", 5) == "one two three"
    clipped = clip_words(" ".join(["word"] * 80), 50)
    assert len(clipped.split()) == 50 and clipped.endswith("…")


def test_item_answer_longer_than_fifty_words_is_clipped():
    answer = json.dumps({"summaries": [{"number": 7, "summary": " ".join(["long"] * 90)}]})
    assert len(parse_item_summaries(answer, [7])[7].split()) == 50


@pytest.mark.parametrize(
    "answer",
    [
        "not json",
        json.dumps({"items": []}),
        json.dumps({"summaries": [{"number": "seven", "summary": "ok"}]}),
        json.dumps({"summaries": [{"number": 7}]}),
        "",
        None,
    ],
)
def test_item_answer_not_of_the_schema_s_shape_is_invalid(answer):
    with pytest.raises(InvalidAnswer):
        parse_item_summaries(answer, [7, 8])


@pytest.mark.parametrize(
    "answer",
    [
        json.dumps({"summaries": [{"number": 7, "summary": "ok"}]}),  # 8 left out
        json.dumps({"summaries": [{"number": 7, "summary": "ok"}, {"number": 8, "summary": "  "}]}),
        json.dumps({"summaries": [{"number": 7, "summary": "ok"}, {"number": 99, "summary": "not asked"}]}),
    ],
)
def test_item_answer_leaving_an_item_out_parses_to_what_it_has(answer):
    # Issue 9 item 8: not an error any more; the caller writes the extractive text for item 8 alone.
    assert parse_item_summaries(answer, [7, 8]) == {7: "ok"}


def test_digest_answer_matches_people_case_insensitively_and_clips():
    answer = json.dumps(
        {"tldr": " ".join(["busy"] * 150), "people": [{"username": "@Alice", "tldr": "x " * 60}]}
    )
    digest = parse_digest(answer, ["alice"])
    assert len(digest.tldr.split()) == 100
    assert len(digest.people["alice"].split()) == 40


def test_digest_answer_leaving_a_person_out_parses_to_what_it_has():
    # Issue 9 item 8: the people the model covered are kept; the caller falls back for the others.
    answer = json.dumps({"tldr": "ok", "people": [{"username": "bob", "tldr": "Fixed the parser."}]})
    digest = parse_digest(answer, ["alice", "Bob"])
    assert digest.tldr == "ok"
    assert digest.people == {"Bob": "Fixed the parser."}
    empty = parse_digest(json.dumps({"tldr": "", "people": [{"username": "alice", "tldr": " "}]}), ["alice"])
    assert empty.tldr == "" and empty.people == {}


@pytest.mark.parametrize("answer", ["not json", json.dumps({"people": []}), json.dumps({"tldr": "ok"}), ""])
def test_digest_answer_not_of_the_schema_s_shape_is_invalid(answer):
    with pytest.raises(InvalidAnswer):
        parse_digest(answer, ["alice"])


def test_short_bodies_are_kept_and_template_comments_dropped():
    assert truncate_to_tokens("<!-- fill me -->\nReal  text.") == "Real text."
    assert truncate_to_tokens(None) == ""
    long = truncate_to_tokens("x" * 10_000)
    assert long.endswith("…[truncated]") and len(long) <= BODY_TOKENS * 4 + 20


def test_extractive_item_summary_reads_the_body_without_markup():
    body = (
        "<!-- template -->\n## Summary\nAdds **streaming** to the [client](https://x.y/z). "
        "Large downloads no longer buffer in memory.\n```py\ncode()\n```\n- [x] Tests added"
    )
    text = ExtractiveSummariser().summarise_item(_item(body=truncate_to_tokens(body), merged=True))
    assert text.startswith("Merged PR by @alice: ")
    assert "streaming" in text and "client" in text
    for noise in ("**", "](", "```", "template", "Tests added", "##"):
        assert noise not in text


def test_extractive_item_summary_falls_back_to_the_title_and_stays_short():
    summariser = ExtractiveSummariser()
    assert summariser.summarise_item(_item(kind="issue", body="")) == "Open issue by @alice: Fix the parser."
    wordy = summariser.summarise_item(_item(body="word " * 400))
    assert len(wordy.split()) <= 50
