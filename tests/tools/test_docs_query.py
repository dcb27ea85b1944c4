"""docs/report-content.md shows the report's GraphQL query exactly as the code sends it."""

from __future__ import annotations

import re

from helpers import ROOT

from oss_tldr.github.activity import ACTIVITY_QUERY


def test_the_documented_query_is_the_one_the_code_sends():
    doc = (ROOT / "docs" / "report-content.md").read_text()
    blocks = re.findall(r"```graphql\n(.*?)\n```", doc, re.DOTALL)
    assert blocks == [ACTIVITY_QUERY.strip()]
