"""The site index (`GET /wp-json/`) and namespace index (`GET /wp-json/wp/v2`): what a
client discovers the API from, every route with its methods and arguments."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.utils import timezone

from blog.site_settings import site_settings
from wordpress.api import routing
from wordpress.api.routing import READ, Call, Endpoint, Reply, Route


def _gmt_offset(zone: str) -> float | int:
    """Hours from UTC now, as WordPress's gmt_offset (5.5 for Asia/Kolkata)."""
    hours = timezone.now().astimezone(ZoneInfo(zone)).utcoffset().total_seconds() / 3600
    return int(hours) if hours.is_integer() else hours


def _route_link(route: routing.Route, root: str) -> dict | None:
    # A route with a parameter has no URL of its own to link to.
    if "(?P<" in route.path:
        return None
    return {"self": [{"href": f"{root}{route.path.lstrip('/')}"}]}


def describe_route(route: routing.Route, root: str, *, with_schema: bool = False) -> dict:
    data = {
        "namespace": route.namespace,
        "methods": route.methods,
        "endpoints": [{"methods": list(e.methods), "args": e.args} for e in route.endpoints],
    }
    if with_schema and route.schema:
        data["schema"] = route.schema()
    links = _route_link(route, root)
    if links:
        data["_links"] = links
    return data


def _routes(root: str, namespace: str | None = None) -> dict:
    return {
        route.path: describe_route(route, root)
        for route in routing.routes()
        if namespace is None or route.namespace in ("", namespace)
    }


def site_index(call: Call) -> Reply:
    home = call.absolute("/").rstrip("/")
    options = site_settings()
    return Reply(
        {
            "name": options.title,
            "description": options.description,
            "url": home,
            "home": home,
            "gmt_offset": _gmt_offset(options.timezone),
            "timezone_string": options.timezone,
            "page_for_posts": 0,
            "page_on_front": 0,
            "show_on_front": "posts",
            "namespaces": list(routing.NAMESPACES),
            "authentication": {"application-passwords": {"endpoints": {}}},
            "routes": _routes(call.root),
            "site_logo": 0,
            "site_icon": 0,
            "site_icon_url": "",
            "_links": {"help": [{"href": "https://developer.wordpress.org/rest-api/"}]},
        }
    )


def namespace_index(call: Call) -> Reply:
    return Reply({"namespace": "wp/v2", "routes": _routes(call.root, "wp/v2")})


_ROUTE_MAP = {"type": "object", "additionalProperties": {"type": "object"}}


def index_schema() -> dict:
    return {
        "title": "index",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "home": {"type": "string", "format": "uri"},
            "namespaces": {"type": "array", "items": {"type": "string"}},
            "authentication": {"type": ["object", "array"]},
            "routes": _ROUTE_MAP,
        },
        "required": ["name", "description", "url", "home", "namespaces", "routes"],
    }


def namespace_schema() -> dict:
    return {
        "title": "namespace",
        "type": "object",
        "properties": {"namespace": {"type": "string"}, "routes": _ROUTE_MAP},
        "required": ["namespace", "routes"],
    }


def register_routes() -> None:
    context = {"context": {"default": "view", "type": "string", "enum": ["view"]}}
    routing.register(
        Route("/", "", [Endpoint(READ, site_index, context)], schema=index_schema, answers="item")
    )
    routing.register(
        Route(
            "/wp/v2",
            "wp/v2",
            [
                Endpoint(
                    READ,
                    namespace_index,
                    {"namespace": {"default": "wp/v2", "type": "string"}, **context},
                )
            ],
            schema=namespace_schema,
            answers="item",
        )
    )
