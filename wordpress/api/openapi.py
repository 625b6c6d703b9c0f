"""/wp-json/openapi.json: an OpenAPI 3.1 description of what this site serves, built from
the same route table, argument declarations and item schemas the dispatcher enforces
and the index publishes, so it cannot drift from them.

WordPress's schemas are JSON Schema draft 4 with a few keywords of its own; OpenAPI 3.1
takes JSON Schema 2020-12, so `readonly` becomes `readOnly`, and `context`, `$schema` and
an argument's `required: true` (a parameter's flag in OpenAPI) move out of the schema.
"""

from __future__ import annotations

import re

from django.http import JsonResponse

from blog.site_settings import site_settings
from wordpress.api import routing

_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>(?P<pattern>[^)]*)\)")
_WRITES = ("POST", "PUT", "PATCH")
_ERROR = {"$ref": "#/components/responses/Error"}
_PAGING_HEADERS = {
    "X-WP-Total": {
        "description": "The number of items in the collection.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "X-WP-TotalPages": {
        "description": "The number of pages at this per_page.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "Link": {"description": "rel=next and rel=prev pages.", "schema": {"type": "string"}},
}


def _json_schema(spec: dict) -> dict:
    """A WordPress schema or argument as JSON Schema 2020-12, recursively."""
    out = {}
    for key, value in spec.items():
        if key in ("context", "$schema", "required") and not (
            key == "required" and isinstance(value, list)
        ):
            continue
        if key == "readonly":
            out["readOnly"] = value
        elif key == "properties":
            out[key] = {name: _json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _json_schema(value)
        else:
            out[key] = value
    return out


def _path(route: routing.Route) -> tuple[str, list[tuple[str, str]]]:
    params = [(m["name"], m["pattern"]) for m in _PARAM.finditer(route.path)]
    return _PARAM.sub(lambda m: "{" + m["name"] + "}", route.path), params


def _operation_id(method: str, path: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "index"
    return f"{method.lower()}_{words}"


def _name(route: routing.Route) -> str:
    return route.schema()["title"].replace("-", "_") if route.schema else ""


def _item_ref(route: routing.Route) -> dict:
    return {"$ref": f"#/components/schemas/{_name(route)}"} if route.schema else {"type": "object"}


def _read_schema(route: routing.Route) -> dict:
    item = _item_ref(route)
    if route.shape == "list":
        return {"type": "array", "items": item}
    if route.shape == "map":
        return {"type": "object", "additionalProperties": item}
    return item


def _parameters(endpoint: routing.Endpoint, path_params, *, in_query: bool) -> list[dict]:
    names = {name for name, _ in path_params}
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _json_schema(endpoint.args.get(name, {"type": "string"}))
            | {"pattern": f"^{pattern}$"},
        }
        for name, pattern in path_params
    ]
    if not in_query:
        return parameters
    for name, spec in endpoint.args.items():
        if name in names:
            continue
        parameter = {
            "name": name,
            "in": "query",
            "required": bool(spec.get("required")),
            "schema": _json_schema(spec),
        }
        if spec.get("description"):
            parameter["description"] = spec["description"]
        if spec.get("type") == "array":
            # `categories=1,2`; `categories[]=1&categories[]=2` is read too.
            parameter.update({"style": "form", "explode": False})
        parameters.append(parameter)
    return parameters


def _request_body(endpoint: routing.Endpoint, path_params) -> dict:
    names = {name for name, _ in path_params}
    properties = {n: _json_schema(s) for n, s in endpoint.args.items() if n not in names}
    schema = {"type": "object", "properties": properties}
    required = [n for n, s in endpoint.args.items() if s.get("required") and n not in names]
    if required:
        schema["required"] = required
    if endpoint.strict_body:
        schema["additionalProperties"] = False
    media = {"schema": schema}
    return {
        "required": False,
        "content": {
            "application/json": media,
            "application/x-www-form-urlencoded": media,
            "multipart/form-data": media,
        },
    }


def _operation(route: routing.Route, endpoint: routing.Endpoint, method: str, path: str) -> dict:
    _, path_params = _path(route)
    write = method in _WRITES
    operation = {
        "operationId": _operation_id(method, path),
        "tags": [route.namespace or "index"],
        "parameters": _parameters(endpoint, path_params, in_query=not write),
        "responses": {"4XX": _ERROR},
    }
    if write:
        operation["requestBody"] = _request_body(endpoint, path_params)
    if method == "GET":
        ok = {"description": "OK", "content": {"application/json": {"schema": _read_schema(route)}}}
        if route.shape == "list":
            ok["headers"] = _PAGING_HEADERS
        operation["responses"]["200"] = ok
    elif method == "DELETE":
        deleted = {
            "type": "object",
            "properties": {"deleted": {"type": "boolean"}, "previous": _item_ref(route)},
            "required": ["deleted", "previous"],
        }
        schema = {"anyOf": [_item_ref(route), deleted]}  # trashed, or deleted with force
        operation["responses"]["200"] = {
            "description": "Deleted, or moved to the trash",
            "content": {"application/json": {"schema": schema}},
        }
    else:
        created = method == "POST" and route.shape == "list"
        status = "201" if created else "200"
        operation["responses"][status] = {
            "description": "Created" if created else "Updated",
            "content": {"application/json": {"schema": _item_ref(route)}},
        }
    return operation


def describe(root: str) -> dict:
    """The OpenAPI 3.1 document for the API at `root` (the absolute /wp-json URL)."""
    paths: dict = {}
    schemas: dict = {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "data": {
                    "type": ["object", "null"],
                    "properties": {"status": {"type": "integer"}},
                },
            },
            "required": ["code", "message"],
        }
    }
    for route in routing.routes():
        path, _ = _path(route)
        if route.schema:
            schemas[_name(route)] = _json_schema(route.schema())
        operations = paths.setdefault(path, {})
        for endpoint in route.endpoints:
            for method in endpoint.methods:
                operations[method.lower()] = _operation(route, endpoint, method, path)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{site_settings().title} REST API",
            "version": "wp/v2",
            "description": "The WordPress REST API routes this site serves (README, API).",
        },
        "servers": [{"url": root.rstrip("/")}],
        "security": [{}, {"applicationPassword": []}, {"cookieNonce": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                "Error": {
                    "description": "WordPress's error shape",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/error"}}
                    },
                }
            },
            "securitySchemes": {
                "applicationPassword": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "A user name and an application password.",
                },
                "cookieNonce": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-WP-Nonce",
                    "description": "With the session cookie of a logged-in page.",
                },
            },
        },
    }


def openapi_view(request):
    return JsonResponse(describe(request.build_absolute_uri("/wp-json")))
