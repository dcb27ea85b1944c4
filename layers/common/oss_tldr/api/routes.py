"""A function's route table and the one compiled matcher its entry point finds a request's route with.

The table maps each API Gateway route key, exactly as template.yaml writes it
(``"GET /api/v1/reports/{report_id}"``), to who may call it (:class:`~oss_tldr.api.auth.Access`). The
matcher works on the method and the path the resolver routes on (``rawPath``, less a named stage), never on
the event's ``routeKey`` (the local API sends ``"$default"``): ``{param}`` is one path segment, and a route
with fewer parameters wins over one with more (API Gateway prefers literal segments; the resolver tries
its routes without parameters first).

A parameter matches exactly the characters the resolver accepts in one (word characters, RFC 3986's
unreserved and sub-delimiter characters, ``:``, ``@``, and ``%<> []{}|^``): a path the resolver answers 404
is not matched either, so it is answered 404 too, never 401 or 422 (tests/layer/test_route_tables.py checks
this against the resolver).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from oss_tldr.api.auth import Access

RouteTable = Mapping[str, Access]

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})  # OPTIONS: preflights need no route
_PARAMETER = re.compile(r"\{(\w+)\}")
_SEGMENT = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"


@dataclass(frozen=True)
class Route:
    key: str  # "GET /api/v1/reports/{report_id}"
    method: str
    path: str  # the template: "/api/v1/reports/{report_id}"
    access: Access


def parse_route_key(key: str) -> tuple[str, str]:
    """``"GET /a/{b}"`` -> ``("GET", "/a/{b}")``; a key that is not a method and a path is a ValueError."""
    method, _, path = key.partition(" ")
    literal = _PARAMETER.sub("", path)
    if method not in METHODS or not path.startswith("/") or " " in path or "{" in literal or "}" in literal:
        raise ValueError(f"not a route key (METHOD /path/{{param}}): {key!r}")
    return method, path


class RouteMatcher:
    """The routes of one table, compiled into one regular expression over ``"METHOD /path"``."""

    def __init__(self, table: RouteTable) -> None:
        routes = [Route(key, *parse_route_key(key), access) for key, access in table.items()]
        # Fewer parameters first (literal segments win); the table's order otherwise.
        routes.sort(key=lambda route: len(_PARAMETER.findall(route.path)))
        self.routes: tuple[Route, ...] = tuple(routes)
        alternatives = [
            f"(?P<r{index}>{re.escape(route.method)} {self._path_regex(route.path)})"
            for index, route in enumerate(self.routes)
        ]
        self._pattern = re.compile("|".join(alternatives) or "(?!)")

    @staticmethod
    def _path_regex(path: str) -> str:
        parts = _PARAMETER.split(path)  # literal, name, literal, name, ..., literal
        return "".join(re.escape(part) if index % 2 == 0 else _SEGMENT for index, part in enumerate(parts))

    def match(self, method: str, path: str) -> Route | None:
        """The route serving ``method path``, or None (the resolver answers: 404, or a CORS preflight)."""
        found = self._pattern.fullmatch(f"{method} {path}")
        if found is None or found.lastgroup is None:
            return None
        return self.routes[int(found.lastgroup[1:])]
