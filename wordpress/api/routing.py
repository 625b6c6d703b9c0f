"""WordPress's route table: regex routes in namespaces, each with endpoints per method.

A route is written as WordPress writes it (`/wp/v2/posts/(?P<id>[\\d]+)`): clients read
these strings from the index and build their URLs from them (node-wpapi parses the named
groups), so the table here is both what we serve and what we tell them we serve.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpRequest

READ = ("GET",)
CREATE = ("POST",)
EDIT = ("POST", "PUT", "PATCH")
DELETE = ("DELETE",)


@dataclass
class Call:
    """One request as a handler sees it: who, which arguments, and how to build links."""

    request: HttpRequest  # rest_framework's Request
    user: object
    method: str
    args: dict
    url_args: dict
    root: str  # the absolute API root, ending in "/"

    @property
    def context(self) -> str:
        return self.args.get("context") or "view"

    def link(self, route: str, **query) -> str:
        from urllib.parse import urlencode

        url = f"{self.root}{route.lstrip('/')}"
        query = {k: v for k, v in query.items() if v is not None}
        return f"{url}?{urlencode(query)}" if query else url

    def absolute(self, path: str) -> str:
        return self.request.build_absolute_uri(path)


@dataclass
class Reply:
    data: object
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    methods: tuple[str, ...]
    handler: Callable[[Call], Reply]
    args: dict[str, dict] = field(default_factory=dict)
    # Body fields are checked strictly (unknown ones refused) on writes.
    strict_body: bool = False
    # Who may call it, for the Allow header (WordPress asks each endpoint's permission
    # callback); None: reads for anyone, writes for signed-in users.
    permitted: Callable[[object], bool] | None = None

    def allows(self, user) -> bool:
        if self.permitted is not None:
            return self.permitted(user)
        return self.methods == READ or user.is_authenticated


@dataclass
class Route:
    path: str
    namespace: str
    endpoints: list[Endpoint]
    schema: Callable[[], dict] | None = None
    # What a GET answers, for the OpenAPI description: "list" of items, one "item", or a
    # "map" of items by slug; None guesses from the path (a parameter means one item).
    answers: str | None = None
    regex: re.Pattern = field(init=False)

    def __post_init__(self) -> None:
        self.regex = re.compile(self.path)

    @property
    def methods(self) -> list[str]:
        return [m for e in self.endpoints for m in e.methods]

    @property
    def shape(self) -> str:
        if self.answers:
            return self.answers
        return "item" if "(?P<" in self.path else "list"

    def allowed_methods(self, user) -> list[str]:
        """WordPress's Allow header: the methods `user` may call here."""
        return [m for e in self.endpoints if e.allows(user) for m in e.methods]

    def endpoint_for(self, method: str) -> Endpoint | None:
        return next((e for e in self.endpoints if method in e.methods), None)


_ROUTES: dict[str, Route] = {}
NAMESPACES = ["wp/v2"]


def register(route: Route) -> Route:
    _ROUTES[route.path] = route
    return route


def routes() -> list[Route]:
    return list(_ROUTES.values())


def match(path: str) -> tuple[Route, dict] | None:
    """The route whose pattern matches all of `path` (WordPress ignores a trailing slash)."""
    path = "/" + path.strip("/") if path.strip("/") else "/"
    for route in _ROUTES.values():
        found = route.regex.fullmatch(path)
        if found:
            return route, found.groupdict()
    return None
