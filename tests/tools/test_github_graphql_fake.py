"""The fake GitHub's ``POST /graphql`` over HTTP: validated against GitHub's published schema, executed over
the same seeded items as REST search, answering errors, points and renames as GitHub does."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx
import pytest

from tools.fakes.github_activity import add_item, seed_activity
from tools.fakes.graphql_objects import cursor
from tools.fakes.issue_search import iso

TOKEN = "gho_fake_octocat"
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
SINCE = NOW - dt.timedelta(days=7)
REPO = "octo/hello"

# The shape of the report's query (issue 9, item 1): counts, the repository and four ranked searches.
ITEM_FIELDS = """
  id number title url state body createdAt updatedAt closedAt authorAssociation
  author { __typename login avatarUrl }
  labels(first: 10) { nodes { name } }
  assignees(first: 5) { nodes { login avatarUrl } }
  comments { totalCount } reactions { totalCount }
  windowComments: timelineItems(since: $since, itemTypes: [ISSUE_COMMENT]) { totalCount }
"""
REPORT_QUERY = f"""
query($owner: String!, $name: String!, $since: DateTime!, $prsUpdated: String!, $prsOpened: String!,
      $prsMerged: String!, $issuesUpdated: String!, $issuesOpened: String!, $issuesClosed: String!,
      $recentPrs: String!, $engagedPrs: String!, $recentIssues: String!, $engagedIssues: String!,
      $first: Int!) {{
  rateLimit {{ cost remaining resetAt limit used }}
  repository(owner: $owner, name: $name) {{
    databaseId id name nameWithOwner isPrivate description url stargazerCount forkCount isArchived isFork
    primaryLanguage {{ name }} owner {{ login avatarUrl __typename }}
  }}
  prsUpdated: search(type: ISSUE, query: $prsUpdated) {{ issueCount }}
  prsOpened: search(type: ISSUE, query: $prsOpened) {{ issueCount }}
  prsMerged: search(type: ISSUE, query: $prsMerged) {{ issueCount }}
  issuesUpdated: search(type: ISSUE, query: $issuesUpdated) {{ issueCount }}
  issuesOpened: search(type: ISSUE, query: $issuesOpened) {{ issueCount }}
  issuesClosed: search(type: ISSUE, query: $issuesClosed) {{ issueCount }}
  recentPrs: search(type: ISSUE, query: $recentPrs, first: $first) {{ issueCount nodes {{ ...pr }} }}
  engagedPrs: search(type: ISSUE, query: $engagedPrs, first: $first) {{ issueCount nodes {{ ...pr }} }}
  recentIssues: search(type: ISSUE, query: $recentIssues, first: $first) {{
    issueCount nodes {{ ...issue }} }}
  engagedIssues: search(type: ISSUE, query: $engagedIssues, first: $first) {{
    issueCount nodes {{ ...issue }} }}
}}
fragment pr on SearchResultItem {{
  __typename
  ... on PullRequest {{
    {ITEM_FIELDS} mergedAt isDraft
    windowReviews: timelineItems(since: $since, itemTypes: [PULL_REQUEST_REVIEW]) {{ totalCount }}
    windowEvents: timelineItems(since: $since,
      itemTypes: [PULL_REQUEST_COMMIT, MERGED_EVENT, CLOSED_EVENT, REOPENED_EVENT]) {{ totalCount }}
  }}
}}
fragment issue on SearchResultItem {{
  __typename
  ... on Issue {{ {ITEM_FIELDS} stateReason }}
}}
"""


def report_variables(full_name: str = REPO, first: int = 50) -> dict[str, Any]:
    owner, name = full_name.split("/")
    window = f"{iso(SINCE)}..{iso(NOW)}"
    pr, issue = f"repo:{full_name} is:pr", f"repo:{full_name} is:issue"
    return {
        "owner": owner,
        "name": name,
        "since": iso(SINCE),
        "first": first,
        "prsUpdated": f"{pr} updated:>={iso(SINCE)}",
        "prsOpened": f"{pr} created:{window}",
        "prsMerged": f"{pr} merged:{window}",
        "issuesUpdated": f"{issue} updated:>={iso(SINCE)}",
        "issuesOpened": f"{issue} created:{window}",
        "issuesClosed": f"{issue} closed:{window}",
        "recentPrs": f"{pr} updated:>={iso(SINCE)} sort:updated-desc",
        "engagedPrs": f"{pr} updated:>={iso(SINCE)} sort:interactions-desc",
        "recentIssues": f"{issue} updated:>={iso(SINCE)} sort:updated-desc",
        "engagedIssues": f"{issue} updated:>={iso(SINCE)} sort:interactions-desc",
    }


def graphql(
    fake: Any, query: str, variables: dict[str, Any] | None = None, token: str | None = TOKEN
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        f"{fake.url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


@pytest.fixture
def fake(fake_github: Any) -> Any:
    fake_github.add_user(login="octocat", token=TOKEN, id=583231)
    return fake_github


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def test_a_field_github_does_not_have_is_a_validation_error_in_githubs_shape(fake: Any) -> None:
    response = graphql(fake, '{ repository(owner: "octo", name: "hello") { name starCount } }')

    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": "Field 'starCount' doesn't exist on type 'Repository'",
            "locations": [{"line": 1, "column": 51}],
            "extensions": {"code": "undefinedField", "typeName": "Repository", "fieldName": "starCount"},
        }
    ]
    assert fake.graphql_errors == body["errors"]


def test_an_argument_github_does_not_have_and_a_type_confusion_are_validation_errors(fake: Any) -> None:
    unknown_argument = graphql(
        fake, '{ search(type: ISSUE, query: "x", sort: UPDATED) { issueCount } }'
    ).json()
    only_on_pull_requests = graphql(
        fake, '{ search(type: ISSUE, query: "x", first: 1) { nodes { ... on Issue { mergedAt } } } }'
    ).json()

    assert unknown_argument["errors"][0]["message"] == "Field 'search' doesn't accept argument 'sort'"
    assert unknown_argument["errors"][0]["extensions"]["code"] == "argumentNotAccepted"
    assert only_on_pull_requests["errors"][0]["message"] == "Field 'mergedAt' doesn't exist on type 'Issue'"
    assert len(fake.graphql_errors) == 2


def test_the_report_query_answers_githubs_exact_counts_for_the_window(fake: Any) -> None:
    seed_activity(fake, REPO, now=NOW, prs=30, issues=20, bots=3, old=4, seed=3)
    add_item(
        fake,
        REPO,
        kind="pr",
        merged=True,
        created_at=days_ago(3000),
        closed_at=days_ago(2900),
        updated_at=days_ago(1),
        title="Merged in 2018, touched last week",
    )
    items = fake.repos[REPO].items

    def count(kind: str, stamp: str) -> int:
        def inside(item: dict[str, Any]) -> bool:
            raw = (
                (item.get("pull_request") or {}).get("merged_at") if stamp == "merged_at" else item.get(stamp)
            )
            return raw is not None and iso(SINCE) <= raw <= iso(NOW)

        return sum(1 for i in items if ("pull_request" in i) == (kind == "pr") and inside(i))

    response = graphql(fake, REPORT_QUERY, report_variables())

    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body and fake.graphql_errors == []
    data = body["data"]
    assert {key: data[key]["issueCount"] for key in ("prsUpdated", "prsOpened", "prsMerged")} == {
        "prsUpdated": count("pr", "updated_at"),
        "prsOpened": count("pr", "created_at"),
        "prsMerged": count("pr", "merged_at"),
    }
    assert {key: data[key]["issueCount"] for key in ("issuesUpdated", "issuesOpened", "issuesClosed")} == {
        "issuesUpdated": count("issue", "updated_at"),
        "issuesOpened": count("issue", "created_at"),
        "issuesClosed": count("issue", "closed_at"),
    }
    assert data["prsUpdated"]["issueCount"] > 0 and data["issuesClosed"]["issueCount"] >= 0
    # the PR merged years ago is updated in the window but not merged in it
    assert "Merged in 2018, touched last week" in [n["title"] for n in data["recentPrs"]["nodes"]]
    assert data["prsMerged"]["issueCount"] < data["prsUpdated"]["issueCount"]
    recent = [n["updatedAt"] for n in data["recentPrs"]["nodes"]]
    assert recent == sorted(recent, reverse=True)
    engaged = data["engagedIssues"]["nodes"]
    assert all(n["__typename"] == "Issue" for n in engaged)
    assert [n["number"] for n in engaged] == [
        i["number"]
        for i in sorted(
            (i for i in items if "pull_request" not in i and i["updated_at"] >= iso(SINCE)),
            key=lambda i: i["comments"] + i["reactions"]["total_count"],
            reverse=True,
        )
    ]
    assert data["repository"]["nameWithOwner"] == REPO
    assert data["repository"]["owner"]["__typename"] == "Organization"
    # 10 searches, and per node of the ranked ones a connection each for labels, assignees, comments,
    # reactions and the timelineItems (3 on a pull request, 1 on an issue): GitHub's rule, /100.
    assert data["rateLimit"]["cost"] == round((10 + 2 * 50 * 7 + 2 * 50 * 5) / 100) == 12
    assert data["rateLimit"]["remaining"] == 5000 - data["rateLimit"]["cost"]
    assert response.headers["x-ratelimit-resource"] == "graphql"
    assert response.headers["x-ratelimit-remaining"] == str(data["rateLimit"]["remaining"])
    assert fake.count("POST", r"^/graphql$") == 1


def test_a_bot_author_has_no_bot_suffix_and_a_ghost_author_is_null(fake: Any) -> None:
    add_item(fake, REPO, kind="pr", login="dependabot[bot]", user_type="Bot", created_at=days_ago(1))
    add_item(fake, REPO, kind="issue", ghost=True, created_at=days_ago(1))
    query = """{ search(type: ISSUE, query: "repo:octo/hello sort:created-asc", first: 10) {
      nodes { ... on PullRequest { author { __typename login } } ... on Issue { author { login } } } } }"""

    nodes = graphql(fake, query).json()["data"]["search"]["nodes"]
    rest = httpx.get(f"{fake.url}/search/issues", params={"q": "repo:octo/hello is:issue"}).json()

    assert nodes == [{"author": {"__typename": "Bot", "login": "dependabot"}}, {"author": None}]
    assert rest["items"][0]["user"]["login"] == "ghost"


def test_timeline_items_count_the_events_of_the_asked_types_since_the_moment(fake: Any) -> None:
    add_item(
        fake,
        REPO,
        kind="pr",
        number=1,
        comments=40,
        created_at=days_ago(400),
        updated_at=days_ago(2),
        events=[
            ("ISSUE_COMMENT", days_ago(300)),
            ("ISSUE_COMMENT", days_ago(3)),
            ("PULL_REQUEST_REVIEW", SINCE),
            ("PULL_REQUEST_REVIEW", days_ago(8)),
            ("MERGED_EVENT", days_ago(2)),
        ],
    )
    # no events given: its 10 comments are spread evenly over 100 days, the last at updated_at
    add_item(
        fake,
        REPO,
        kind="issue",
        number=2,
        comments=10,
        created_at=days_ago(100),
        updated_at=days_ago(1),
        state="closed",
        closed_at=days_ago(1),
    )
    query = """query($since: DateTime!) { repository(owner: "octo", name: "hello") {
      pr: pullRequests(first: 1) { nodes {
        comments { totalCount } reviews(first: 5) { totalCount }
        c: timelineItems(since: $since, itemTypes: [ISSUE_COMMENT]) { totalCount }
        r: timelineItems(since: $since, itemTypes: [PULL_REQUEST_REVIEW]) { totalCount }
        e: timelineItems(since: $since, itemTypes: [MERGED_EVENT, CLOSED_EVENT]) { totalCount }
        all: timelineItems(first: 10) { totalCount nodes { __typename } } } }
      issue: issues(first: 1) { nodes {
        c: timelineItems(since: $since, itemTypes: [ISSUE_COMMENT]) { totalCount }
        closed: timelineItems(since: $since, itemTypes: [CLOSED_EVENT]) { totalCount } } } } }"""

    data = graphql(fake, query, {"since": iso(SINCE)}).json()["data"]["repository"]

    (pr,), (issue,) = data["pr"]["nodes"], data["issue"]["nodes"]
    assert pr["comments"] == {"totalCount": 40}  # lifetime, as GitHub
    assert (pr["c"], pr["r"], pr["e"]) == ({"totalCount": 1}, {"totalCount": 1}, {"totalCount": 1})
    assert pr["reviews"] == {"totalCount": 2}
    assert pr["all"]["totalCount"] == 5
    assert [n["__typename"] for n in pr["all"]["nodes"]][-1] == "MergedEvent"
    assert issue == {"c": {"totalCount": 1}, "closed": {"totalCount": 1}}  # day 90 and day 99 of 100
    assert fake.graphql_errors == []


def test_a_repository_the_token_cannot_see_is_null_with_a_not_found_error(fake: Any) -> None:
    fake.add_repo("octo/secret", private=True)
    query = """{ repository(owner: "octo", name: "secret") { name }
                 s: search(type: ISSUE, query: "repo:octo/secret is:pr") { issueCount } }"""

    body = graphql(fake, query).json()

    assert body["data"] == {"repository": None, "s": {"issueCount": 0}}
    assert body["errors"] == [
        {
            "type": "NOT_FOUND",
            "message": "Could not resolve to a Repository with the name 'octo/secret'.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["repository"],
        },
        {
            "type": "INVALID",
            "path": ["s"],
            "message": "The listed users and repositories cannot be searched either because the resources do "
            "not exist or you do not have permission to view them.",
            "locations": [{"line": 2, "column": 18}],
        },
    ]
    assert fake.graphql_errors == []  # arranged by the test, not a fault of the query


def test_a_token_out_of_points_is_rate_limited_until_its_reset(fake: Any) -> None:
    reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    fake.set_graphql_points(TOKEN, 0, reset_at=reset)

    limited = graphql(fake, "{ viewer { login } }")

    assert limited.status_code == 200
    assert limited.json() == {
        "errors": [{"type": "RATE_LIMITED", "message": "API rate limit already exceeded for user ID 583231."}]
    }
    assert limited.headers["x-ratelimit-limit"] == "5000"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert limited.headers["x-ratelimit-used"] == "5000"
    assert limited.headers["x-ratelimit-reset"] == str(int(reset.timestamp()))
    assert limited.headers["x-ratelimit-resource"] == "graphql"
    time.sleep(max(0.0, (reset - dt.datetime.now(dt.UTC)).total_seconds()) + 0.05)
    refilled = graphql(fake, "{ viewer { login } rateLimit { cost remaining } }")
    assert refilled.json()["data"] == {
        "viewer": {"login": "octocat"},
        "rateLimit": {"cost": 1, "remaining": 4999},
    }
    assert fake.graphql_points[TOKEN] == 4999


def test_without_a_token_graphql_answers_401(fake: Any) -> None:
    response = graphql(fake, "{ viewer { login } }", token=None)

    assert response.status_code == 401
    assert (response.headers["x-ratelimit-limit"], response.headers["x-ratelimit-remaining"]) == ("0", "0")
    assert response.json() == {
        "message": "This endpoint requires you to be authenticated.",
        "documentation_url": "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql",
    }
    assert graphql(fake, "{ viewer { login } }", token="gho_unknown").json()["message"] == "Bad credentials"


def test_a_partial_result_nulls_one_field_and_names_its_path(fake: Any) -> None:
    add_item(fake, REPO, kind="pr", created_at=days_ago(1))
    fake.graphql_partial("prsMerged", message="timeout")
    query = """{ prsUpdated: search(type: ISSUE, query: "repo:octo/hello is:pr") { issueCount }
                 prsMerged: search(type: ISSUE, query: "repo:octo/hello is:merged") { issueCount } }"""

    partial, whole = graphql(fake, query).json(), graphql(fake, query).json()

    assert partial["data"] == {"prsUpdated": {"issueCount": 1}, "prsMerged": None}
    assert partial["errors"] == [
        {"message": "timeout", "path": ["prsMerged"], "locations": [{"line": 2, "column": 18}]}
    ]
    assert whole == {"data": {"prsUpdated": {"issueCount": 1}, "prsMerged": {"issueCount": 0}}}


def test_a_renamed_repository_redirects_on_rest_and_resolves_on_graphql(fake: Any) -> None:
    add_item(fake, REPO, kind="pr", created_at=days_ago(1))
    repo = fake.rename_repo(REPO, "octo/hi")

    moved = httpx.get(f"{fake.url}/repos/octo/hello")
    followed = httpx.get(f"{fake.url}/repos/OCTO/Hello", follow_redirects=True)
    query = """{ repository(owner: "octo", name: "hello") { nameWithOwner databaseId }
                 old: search(type: ISSUE, query: "repo:octo/hello") { issueCount }
                 new: search(type: ISSUE, query: "repo:octo/hi", first: 5) {
                   issueCount nodes { ... on PullRequest { url } } } }"""
    body = graphql(fake, query).json()

    assert moved.status_code == 301
    assert moved.headers["location"] == f"{fake.url}/repositories/{repo.id}"
    assert moved.json() == {
        "message": "Moved Permanently",
        "url": f"{fake.url}/repositories/{repo.id}",
        "documentation_url": "https://docs.github.com/v3/#http-redirects",
    }
    assert followed.status_code == 200 and followed.json()["full_name"] == "octo/hi"
    assert body["data"]["repository"] == {"nameWithOwner": "octo/hi", "databaseId": repo.id}
    assert body["data"]["old"] == {"issueCount": 0}
    assert body["data"]["new"] == {"issueCount": 1, "nodes": [{"url": "https://github.com/octo/hi/pull/1"}]}
    assert [e["type"] for e in body["errors"]] == ["INVALID"] and body["errors"][0]["path"] == ["old"]


def test_connections_need_first_or_last_up_to_100(fake: Any) -> None:
    missing = graphql(fake, '{ search(type: ISSUE, query: "x") { nodes { __typename } } }').json()
    excessive = graphql(fake, '{ search(type: ISSUE, query: "x", first: 101) { issueCount } }').json()

    assert missing["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert missing["errors"][0]["message"] == (
        "You must provide a `first` or `last` value to properly paginate the `search` connection."
    )
    assert excessive["errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    assert excessive["errors"][0]["message"] == (
        "Requesting 101 records on the `search` connection exceeds the `first` limit of 100 records."
    )
    assert len(fake.graphql_errors) == 2


def test_search_pages_with_githubs_cursors(fake: Any) -> None:
    for day in range(5):
        add_item(fake, REPO, kind="issue", created_at=days_ago(day))
    query = """query($after: String) {
      search(type: ISSUE, query: "repo:octo/hello sort:created-desc", first: 2, after: $after) {
        issueCount pageInfo { hasNextPage endCursor } nodes { ... on Issue { number } } } }"""

    first = graphql(fake, query).json()["data"]["search"]
    second = graphql(fake, query, {"after": first["pageInfo"]["endCursor"]}).json()["data"]["search"]

    assert first == {
        "issueCount": 5,
        "pageInfo": {"hasNextPage": True, "endCursor": cursor(2)},
        "nodes": [{"number": 1}, {"number": 2}],
    }
    assert second["nodes"] == [{"number": 3}, {"number": 4}]


def test_failures_are_injected_and_requests_counted_like_any_route(fake: Any) -> None:
    fake.fail("POST", r"^/graphql$", status=502, body={"message": "Server Error"})

    failed, served = graphql(fake, "{ viewer { login } }"), graphql(fake, "{ viewer { login } }")

    assert failed.status_code == 502
    assert served.json() == {"data": {"viewer": {"login": "octocat"}}}
    assert fake.count("POST", r"^/graphql$") == 2


def test_rest_and_graphql_search_read_the_same_qualifiers(fake: Any) -> None:
    seed_activity(fake, REPO, now=NOW, seed=11)
    q = f"repo:{REPO} is:pr merged:{iso(SINCE)}..{iso(NOW)}"

    rest = httpx.get(
        f"{fake.url}/search/issues", params={"q": q}, headers={"authorization": f"token {TOKEN}"}
    )
    gql = graphql(fake, "query($q: String!) { search(type: ISSUE, query: $q) { issueCount } }", {"q": q})

    assert gql.json()["data"]["search"]["issueCount"] == rest.json()["total_count"] > 0
