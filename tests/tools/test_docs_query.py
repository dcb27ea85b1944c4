"""docs/report-content.md shows the report's and the deep dive's GraphQL queries exactly as the code sends
them."""

from __future__ import annotations

import re

from helpers import ROOT

from oss_tldr.github.activity import ACTIVITY_QUERY
from oss_tldr.github.threads import PULL_REQUEST_HEAD_QUERY, THREAD_QUERY


def test_the_documented_query_is_the_one_the_code_sends():
    doc = (ROOT / "docs" / "report-content.md").read_text()
    blocks = re.findall(r"```graphql\n(.*?)\n```", doc, re.DOTALL)
    assert blocks == [ACTIVITY_QUERY.strip(), PULL_REQUEST_HEAD_QUERY.strip(), THREAD_QUERY.strip()]
