"""GitHub's GraphQL API on the fake GitHub: ``POST /graphql``, executed against GitHub's published schema.

Every query is parsed and validated with graphql-core against the real schema (tools/github_schema.py),
so a field, argument or type that does not exist at GitHub fails the test that sends it; then it is
executed over the fake's data (tools/fakes/graphql_objects.py maps the REST-shaped items). Answers as
GitHub gives them:

* no token: HTTP 401 ``{"message": "This endpoint requires you to be authenticated.", ...}``; a token
  the fake does not know: 401 ``Bad credentials`` (both with rate-limit headers of 0).
* a parse, validation or variable error: HTTP 200 ``{"errors": [{"message", "locations", "extensions"?}]}``
  (the two commonest validation messages in GitHub's wording); a connection asked for ``nodes``/``edges``
  without ``first``/``last`` is ``MISSING_PAGINATION_BOUNDARIES``, ``first``/``last`` over 100
  ``EXCESSIVE_PAGINATION``. These, and anything the fake cannot answer (a non-null field it has no data
  for), are also appended to ``fake.graphql_errors``: tests assert it stays empty.
* a repository the token cannot see (or that does not exist): ``"repository": null`` and a ``NOT_FOUND``
  error at its path; a former name resolves to the renamed repository (``followRenames`` defaults to true).
* a search whose ``repo:`` cannot be searched: ``issueCount: 0`` and an ``INVALID`` error at its path.
* points: each token has 5000 an hour (``fake.graphql_points[token]`` remaining,
  ``fake.set_graphql_points(token, n, reset_at=...)``). A query costing more than what remains answers
  HTTP 200 ``{"errors": [{"type": "RATE_LIMITED", ...}]}``. Every answer carries ``x-ratelimit-limit``,
  ``-remaining``, ``-reset`` (epoch seconds), ``-used`` and ``x-ratelimit-resource: graphql``.
* ``fake.graphql_partial("prsUpdated")``: the next executed answer nulls what it answered under that
  response key and adds an error at that path (data and errors, GitHub's partial result).

Cost, GitHub's documented rule approximated: every connection field (a type named ``*Connection``) counts
one request per parent node it is fetched for, assuming each ``first``/``last`` is reached (a connection
without them, asked only for ``totalCount``, counts one request and has no nodes); the cost is the total
divided by 100, rounded to the nearest whole number, at least 1. ``nodeCount`` sums the potential nodes.
``rateLimit`` answers the cost and what remains after it, as GitHub does.

Failure injection is FakeGitHub's: ``fake.fail("POST", r"^/graphql$", status=502)``; counting too:
``fake.count("POST", r"^/graphql$")``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import graphql
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

from tools.fakes import graphql_objects
from tools.fakes.github import FakeGitHub, FakeRequest
from tools.fakes.graphql_objects import Context, FieldError
from tools.fakes.issue_search import iso
from tools.github_schema import github_schema

POINTS_PER_HOUR = 5000
MAX_PAGE = 100
_UNAUTHENTICATED = {
    "message": "This endpoint requires you to be authenticated.",
    "documentation_url": "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql",
}
_BAD_CREDENTIALS = {"message": "Bad credentials", "documentation_url": "https://docs.github.com/graphql"}
_schema_lock = threading.Lock()


def _schema() -> GraphQLSchema:
    with _schema_lock:  # concurrent first requests build it once
        return github_schema()


# --- what a query costs, and the pagination rules ---------------------------------------------------


@dataclass
class Analysis:
    requests: int = 0
    nodes: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cost(self) -> int:
        return max(1, int(self.requests / 100 + 0.5))


def _location(node: Any) -> list[dict[str, int]]:
    if node.loc is None:
        return []
    where = node.loc.source.get_location(node.loc.start)
    return [{"line": where.line, "column": where.column}]


class _Walker:
    def __init__(
        self, schema: GraphQLSchema, document: graphql.DocumentNode, variables: dict[str, Any]
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.analysis = Analysis()

    def _int(self, node: FieldNode, name: str) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value == name:
                value = argument.value
                if isinstance(value, IntValueNode):
                    return int(value.value)
                if isinstance(value, VariableNode):
                    found = self.variables.get(value.name.value)
                    return found if isinstance(found, int) else None
        return None

    def _fields(self, selection_set: SelectionSetNode | None) -> list[FieldNode]:
        """The fields of a selection set, through inline fragments and fragment spreads."""
        found: list[FieldNode] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found.extend(self._fields(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in self.fragments:
                found.extend(self._fields(self.fragments[selection.name.value].selection_set))
        return found

    def walk(self, selection_set: SelectionSetNode, parent: Any, multiplicity: int, path: list[str]) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = self.schema.get_type(condition.name.value) if condition else parent
                self.walk(selection.selection_set, kind, multiplicity, path)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in self.fragments:
                fragment = self.fragments[selection.name.value]
                self.walk(
                    fragment.selection_set,
                    self.schema.get_type(fragment.type_condition.name.value),
                    multiplicity,
                    path,
                )
            elif isinstance(selection, FieldNode):
                self._field(selection, parent, multiplicity, path)

    def _field(self, node: FieldNode, parent: Any, multiplicity: int, path: list[str]) -> None:
        definition = getattr(parent, "fields", {}).get(node.name.value)
        if definition is None:  # __typename and the like
            return
        returned = graphql.get_named_type(definition.type)
        key = node.alias.value if node.alias else node.name.value
        inner = multiplicity
        if returned.name.endswith("Connection"):
            first, last = self._int(node, "first"), self._int(node, "last")
            for name, value in (("first", first), ("last", last)):
                if value is not None and not 0 <= value <= MAX_PAGE:
                    self._error(
                        node,
                        [*path, key],
                        "EXCESSIVE_PAGINATION",
                        f"Requesting {value} records on the `{node.name.value}` connection exceeds the "
                        f"`{name}` limit of {MAX_PAGE} records.",
                    )
            size = first if first is not None else last
            if size is None and any(
                f.name.value in {"nodes", "edges"} for f in self._fields(node.selection_set)
            ):
                self._error(
                    node,
                    [*path, key],
                    "MISSING_PAGINATION_BOUNDARIES",
                    f"You must provide a `first` or `last` value to properly paginate the "
                    f"`{node.name.value}` connection.",
                )
            self.analysis.requests += multiplicity
            self.analysis.nodes += multiplicity * (size or 0)
            inner = multiplicity * (size or 1)
        if node.selection_set:
            self.walk(node.selection_set, returned, inner, [*path, key])

    def _error(self, node: FieldNode, path: list[str], type: str, message: str) -> None:
        self.analysis.errors.append(
            {"type": type, "path": path, "locations": _location(node), "message": message}
        )


def analyse(
    schema: GraphQLSchema, document: graphql.DocumentNode, variables: dict[str, Any], operation: str | None
) -> Analysis:
    walker = _Walker(schema, document, variables)
    chosen = graphql.get_operation_ast(document, operation)
    if isinstance(chosen, OperationDefinitionNode):
        root = schema.get_root_type(chosen.operation)
        walker.walk(chosen.selection_set, root, 1, [])
    return walker.analysis


# --- GitHub's wording of errors ---------------------------------------------------------------------

_UNDEFINED_FIELD = re.compile(r"^Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\.")
_UNKNOWN_ARGUMENT = re.compile(
    r"^Unknown argument '(?P<argument>\w+)' on field '(?P<type>\w+)\.(?P<field>\w+)'\."
)


def github_validation_error(error: GraphQLError) -> dict[str, Any]:
    """A validation error as GitHub (graphql-ruby) words the two commonest, else graphql-core's message."""
    formatted: dict[str, Any] = {"message": error.message, "locations": error.formatted.get("locations", [])}
    if match := _UNDEFINED_FIELD.match(error.message):
        formatted["message"] = f"Field '{match['field']}' doesn't exist on type '{match['type']}'"
        formatted["extensions"] = {
            "code": "undefinedField",
            "typeName": match["type"],
            "fieldName": match["field"],
        }
    elif match := _UNKNOWN_ARGUMENT.match(error.message):
        formatted["message"] = f"Field '{match['field']}' doesn't accept argument '{match['argument']}'"
        formatted["extensions"] = {
            "code": "argumentNotAccepted",
            "name": match["field"],
            "typeName": "Field",
            "argumentName": match["argument"],
        }
    return formatted


# --- points -----------------------------------------------------------------------------------------


def _budget(fake: FakeGitHub, token: str) -> tuple[int, dt.datetime]:
    """The token's remaining points and reset moment (refilled once the reset has passed). Under the lock."""
    now = dt.datetime.now(dt.UTC)
    reset = fake.graphql_resets.get(token)
    if reset is None:  # first use (``graphql_points`` may have been set directly)
        fake.graphql_resets[token] = reset = now + dt.timedelta(hours=1)
    elif reset <= now:
        fake.graphql_resets[token] = reset = now + dt.timedelta(hours=1)
        fake.graphql_points[token] = POINTS_PER_HOUR
    return fake.graphql_points.setdefault(token, POINTS_PER_HOUR), reset


# Not anyone's budget: an unauthenticated answer says 0 for everything.
_NOBODYS_HEADERS = {
    "x-ratelimit-limit": "0",
    "x-ratelimit-remaining": "0",
    "x-ratelimit-reset": "0",
    "x-ratelimit-used": "0",
    "x-ratelimit-resource": "graphql",
}


def _headers(remaining: int, reset: dt.datetime) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(POINTS_PER_HOUR),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(int(reset.timestamp())),
        "x-ratelimit-used": str(POINTS_PER_HOUR - remaining),
        "x-ratelimit-resource": "graphql",
    }


# --- the route --------------------------------------------------------------------------------------


def _rejected(
    fake: FakeGitHub, errors: list[dict[str, Any]], headers: dict[str, str]
) -> tuple[int, Any, dict[str, str]]:
    fake.graphql_errors.extend(errors)
    return 200, {"errors": errors}, headers


class _Locate(graphql.Visitor):
    """Where each response key is first asked for in the query."""

    def __init__(self, locations: dict[str, list[dict[str, int]]]) -> None:
        super().__init__()
        self.locations = locations

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.locations.setdefault(node.alias.value if node.alias else node.name.value, _location(node))


def _apply_partials(
    fake: FakeGitHub, document: graphql.DocumentNode, data: Any, errors: list[dict[str, Any]]
) -> None:
    """Null what the pending ``graphql_partial`` keys answered and add an error at each path."""
    with fake._lock:
        partials, fake.graphql_partials[:] = list(fake.graphql_partials), []
    locations: dict[str, list[dict[str, int]]] = {}
    graphql.visit(document, _Locate(locations))
    for key, message, kind in partials:
        stack: list[tuple[Any, list[str | int]]] = [(data, [])]
        while stack:
            value, path = stack.pop()
            if isinstance(value, dict):
                for name, child in value.items():
                    if name == key:
                        value[name] = None
                        error: dict[str, Any] = {
                            "message": message,
                            "path": [*path, name],
                            "locations": locations.get(key, []),
                        }
                        if kind:
                            error["type"] = kind
                        errors.append(error)
                    else:
                        stack.append((child, [*path, name]))
            elif isinstance(value, list):
                stack.extend((child, [*path, i]) for i, child in enumerate(value))


def _graphql(fake: FakeGitHub, req: FakeRequest) -> tuple[int, Any, dict[str, str]]:
    try:
        return _answer(fake, req)
    except Exception as error:  # a bug of the fake: a clear 500 and an entry in graphql_errors, not a hang-up
        fake.graphql_errors.append({"message": f"the fake GitHub failed: {error!r}"})
        return 500, {"message": f"the fake GitHub failed: {error!r}"}, {}


def _answer(fake: FakeGitHub, req: FakeRequest) -> tuple[int, Any, dict[str, str]]:
    token = req.token
    user = fake.users.get(token or "")
    if token is None or user is None:
        return 401, _UNAUTHENTICATED if token is None else _BAD_CREDENTIALS, _NOBODYS_HEADERS
    with fake._lock:
        remaining, reset = _budget(fake, token)
    headers = _headers(remaining, reset)
    try:
        body = req.json()
    except json.JSONDecodeError:
        return (
            400,
            {"message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/graphql"},
            headers,
        )
    query, variables = (body or {}).get("query"), (body or {}).get("variables") or {}
    operation = (body or {}).get("operationName")
    if not isinstance(query, str) or not isinstance(variables, dict):
        return _rejected(
            fake, [{"message": "A query attribute must be specified and must be a string."}], headers
        )
    schema = _schema()
    try:
        document = graphql.parse(query)
    except GraphQLError as error:
        return _rejected(
            fake, [{"message": error.message, "locations": error.formatted.get("locations", [])}], headers
        )
    invalid = graphql.validate(schema, document)
    if invalid:
        return _rejected(fake, [github_validation_error(e) for e in invalid], headers)
    analysis = analyse(schema, document, variables, operation)
    if analysis.errors:
        return _rejected(fake, analysis.errors, headers)

    with fake._lock:
        remaining, reset = _budget(fake, token)
        if analysis.cost > remaining:
            limited = {
                "type": "RATE_LIMITED",
                "message": f"API rate limit already exceeded for user ID {user.id}.",
            }
            return 200, {"errors": [limited]}, _headers(0, reset)
        remaining = fake.graphql_points[token] = remaining - analysis.cost
    headers = _headers(remaining, reset)
    rate_limit = {
        "cost": analysis.cost,
        "limit": POINTS_PER_HOUR,
        "nodeCount": analysis.nodes,
        "remaining": remaining,
        "resetAt": iso(reset),
        "used": POINTS_PER_HOUR - remaining,
    }
    ctx = Context(fake, user, rate_limit)
    result = graphql.execute_sync(
        schema, document, graphql_objects.root(ctx), variable_values=variables, operation_name=operation
    )
    errors: list[dict[str, Any]] = []
    for failure in result.errors or []:
        formatted = dict(failure.formatted)
        if isinstance(failure.original_error, FieldError):
            errors.append({"type": failure.original_error.type, **formatted})
        else:  # the query's fault (a variable) or the fake's (a field it has no data for)
            fake.graphql_errors.append(formatted)
            errors.append(formatted)
    errors.extend(ctx.errors)
    _apply_partials(fake, document, result.data, errors)
    payload: dict[str, Any] = {"data": result.data}
    if errors:
        payload["errors"] = errors
    return 200, payload, headers


def register(fake: FakeGitHub) -> None:
    fake.route("POST", r"^/graphql$")(_graphql)
