"""Request arguments, read and checked as WordPress's REST server does.

Each endpoint declares its arguments as WordPress does (a JSON Schema per argument:
type, enum, minimum, maximum, items, default, required). The same declarations are
served in the index (`GET /wp-json/`), where clients such as node-wpapi read them, and
in the OpenAPI description, so what is documented is what is enforced.

Lists come as `categories=1,2`, `categories[]=1&categories[]=2` or a JSON array;
booleans as true/false/1/0. Every bad argument is named in one 400 rest_invalid_param.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from blog.site_settings import site_zone
from wordpress.api.errors import WPError, invalid_params

# Arguments every route takes, handled by the dispatcher (not declared per endpoint).
GLOBAL_ARGS = frozenset(
    {"_fields", "_embed", "_envelope", "_method", "_jsonp", "_locale", "_wpnonce", "rest_route"}
)
_BRACKETS = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<index>\d*)\]$")
_LIST_SPLIT = re.compile(r"[\s,]+")
_TRUE = {True, "1", "true", "TRUE", "True"}
_FALSE = {False, "0", "false", "FALSE", "False", ""}


def flatten_query(query: QueryDict) -> dict:
    """A QueryDict as plain values: `a[]=1&a[]=2` and `a[0]=1` become lists."""
    values: dict = {}
    for key in query:
        match = _BRACKETS.match(key)
        if match:
            values.setdefault(match["name"], []).extend(query.getlist(key))
        else:
            values[key] = query.getlist(key)[-1]
    return values


def _type_error(name: str, kind: str) -> str:
    return f"{name} is not of type {kind}."


def _check(name: str, value, spec: dict):
    """The value coerced to its declared type; raises ValueError with WordPress's message."""
    kinds = spec.get("type", "string")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if value is None and "null" in kinds:
        return None
    errors = []
    for kind in kinds:
        try:
            return _check_one(name, value, kind, spec)
        except ValueError as exc:
            errors.append(str(exc))
    if len(kinds) == 1:
        raise ValueError(errors[0])
    raise ValueError(_type_error(name, ",".join(kinds)))


def _check_one(name: str, value, kind: str, spec: dict):
    if kind == "integer":
        if isinstance(value, bool):
            raise ValueError(_type_error(name, "integer"))
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
            value = int(value)
        if not isinstance(value, int):
            raise ValueError(_type_error(name, "integer"))
        return _bounds(name, value, spec)
    if kind == "number":
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ValueError(_type_error(name, "number")) from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(_type_error(name, "number"))
        return _bounds(name, value, spec)
    if kind == "boolean":
        if value in _TRUE and not isinstance(value, float):
            return True
        if value in _FALSE and not isinstance(value, float):
            return False
        raise ValueError(_type_error(name, "boolean"))
    if kind == "array":
        if isinstance(value, str):
            value = [v for v in _LIST_SPLIT.split(value) if v] if value else []
        if not isinstance(value, list):
            raise ValueError(_type_error(name, "array"))
        items = spec.get("items", {})
        checked = [_check(f"{name}[{i}]", v, items) for i, v in enumerate(value)]
        if spec.get("uniqueItems"):
            checked = list(dict.fromkeys(checked))
        return checked
    if kind == "object":
        if not isinstance(value, dict):
            raise ValueError(_type_error(name, "object"))
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError(_type_error(name, "string"))
        if "enum" in spec and value not in spec["enum"]:
            raise ValueError(f"{name} is not one of {', '.join(map(str, spec['enum']))}.")
        if spec.get("format") == "date-time" and value:
            return parse_date(name, value)
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            raise ValueError(f"{name} must be at most {spec['maxLength']} character(s) long.")
        return value
    if kind == "null":
        if value is not None:
            raise ValueError(_type_error(name, "null"))
        return None
    raise ValueError(_type_error(name, kind))


def _bounds(name: str, value, spec: dict):
    low, high = spec.get("minimum"), spec.get("maximum")
    if low is not None and high is not None and not low <= value <= high:
        raise ValueError(f"{name} must be between {low} (inclusive) and {high} (inclusive)")
    if low is not None and value < low:
        raise ValueError(f"{name} must be greater than or equal to {low}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be less than or equal to {high}")
    return value


def parse_date(name: str, value: str) -> datetime:
    """WordPress's RFC 3339 dates; without an offset, in the site's time zone."""
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(f"{name} is not a valid date. Use the format YYYY-MM-DDTHH:MM:SS.")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, site_zone())
    return parsed


def read_args(specs: dict[str, dict], sources: list[dict], *, strict: frozenset | None = None):
    """Checked arguments from `sources` (first wins), with defaults filled in.

    `strict`, when given, is the set of keys of the request body: any of them that is
    neither declared nor global is refused, so a misspelt field changes nothing silently.
    """
    given: dict = {}
    for source in reversed(sources):
        given.update(source)
    errors: dict[str, str] = {}
    missing = [
        name for name, spec in specs.items() if spec.get("required") and given.get(name) is None
    ]
    if missing:
        raise WPError(
            "rest_missing_callback_param",
            f"Missing parameter(s): {', '.join(missing)}",
            400,
            params=missing,
        )
    args: dict = {}
    for name, spec in specs.items():
        if name in given:
            try:
                args[name] = _check(name, given[name], spec)
            except ValueError as exc:
                errors[name] = str(exc)
        elif "default" in spec:
            args[name] = spec["default"]
    for name in sorted(strict or ()):
        if name not in specs and name not in GLOBAL_ARGS and not name.startswith("_"):
            errors[name] = f"{name} is not a field this route accepts."
    if errors:
        raise invalid_params(errors)
    return args
