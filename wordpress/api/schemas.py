"""Arguments and item schemas of the wp/v2 routes, as WordPress declares them.

One declaration serves three readers: the argument checks (wordpress/api/params.py),
the index clients discover routes from, and /wp-json/openapi.json.
"""

from __future__ import annotations

CONTEXT = {
    "description": "Scope under which the request is made; determines fields present in response.",
    "type": "string",
    "enum": ["view", "embed", "edit"],
    "default": "view",
}


def _int_list(description: str, default=None) -> dict:
    spec = {"description": description, "type": "array", "items": {"type": "integer"}}
    if default is not None:
        spec["default"] = default
    return spec


def collection_args(*, orderby: list[str], default_orderby: str, order: str = "desc") -> dict:
    return {
        "context": CONTEXT,
        "page": {
            "description": "Current page of the collection.",
            "type": "integer",
            "default": 1,
            "minimum": 1,
        },
        "per_page": {
            "description": "Maximum number of items to be returned in result set.",
            "type": "integer",
            "default": 10,
            "minimum": 1,
            "maximum": 100,
        },
        "search": {"description": "Limit results to those matching a string.", "type": "string"},
        "exclude": _int_list("Ensure result set excludes specific IDs.", []),
        "include": _int_list("Limit result set to specific IDs.", []),
        "offset": {
            "description": "Offset the result set by a specific number of items.",
            "type": "integer",
        },
        "order": {
            "description": "Order sort attribute ascending or descending.",
            "type": "string",
            "default": order,
            "enum": ["asc", "desc"],
        },
        "orderby": {
            "description": "Sort collection by object attribute.",
            "type": "string",
            "default": default_orderby,
            "enum": orderby,
        },
    }


POST_STATUSES = ["publish", "future", "draft", "pending", "private", "trash"]

_SLUG_LIST = {
    "description": "Limit result set to items with one or more specific slugs.",
    "type": "array",
    "items": {"type": "string"},
}


def post_collection_args(kind: str) -> dict:
    args = collection_args(
        orderby=[
            "author",
            "date",
            "id",
            "include",
            "modified",
            "parent",
            "relevance",
            "slug",
            "include_slugs",
            "title",
        ]
        + (["menu_order"] if kind == "page" else []),
        default_orderby="date",
    )
    args.update(
        {
            "after": {
                "description": "Limit response to posts published after a given ISO8601 compliant date.",
                "type": "string",
                "format": "date-time",
            },
            "modified_after": {
                "description": "Limit response to posts modified after a given ISO8601 compliant date.",
                "type": "string",
                "format": "date-time",
            },
            "before": {
                "description": "Limit response to posts published before a given ISO8601 compliant date.",
                "type": "string",
                "format": "date-time",
            },
            "modified_before": {
                "description": "Limit response to posts modified before a given ISO8601 compliant date.",
                "type": "string",
                "format": "date-time",
            },
            "author": _int_list("Limit result set to posts assigned to specific authors.", []),
            "author_exclude": _int_list(
                "Ensure result set excludes posts assigned to specific authors.", []
            ),
            "slug": _SLUG_LIST,
            "status": {
                "description": "Limit result set to posts assigned one or more statuses.",
                "type": "array",
                "items": {"type": "string", "enum": [*POST_STATUSES, "any"]},
                "default": ["publish"],
            },
            "password": {
                "description": "The password for the post if it is password protected.",
                "type": "string",
            },
        }
    )
    if kind == "page":
        args["parent"] = _int_list("Limit result set to items with particular parent IDs.", [])
        args["parent_exclude"] = _int_list(
            "Limit result set to all items except those of a particular parent ID.", []
        )
        args["menu_order"] = {
            "description": "Limit result set to posts with a specific menu_order value.",
            "type": "integer",
        }
    else:
        args.update(
            {
                "tax_relation": {
                    "description": "Limit result set based on relationship between multiple taxonomies.",
                    "type": "string",
                    "enum": ["AND", "OR"],
                },
                "categories": _int_list(
                    "Limit result set to items with specific terms assigned in the categories taxonomy."
                ),
                "categories_exclude": _int_list(
                    "Limit result set to items except those with specific terms assigned in the categories taxonomy."
                ),
                "tags": _int_list(
                    "Limit result set to items with specific terms assigned in the tags taxonomy."
                ),
                "tags_exclude": _int_list(
                    "Limit result set to items except those with specific terms assigned in the tags taxonomy."
                ),
                "sticky": {
                    "description": "Limit result set to items that are sticky.",
                    "type": "boolean",
                },
                "format": {
                    "description": "Limit result set to items assigned one or more given formats.",
                    "type": "array",
                    "items": {"type": "string", "enum": ["standard"]},
                },
            }
        )
    return args


def post_item_args() -> dict:
    return {
        "id": {"description": "Unique identifier for the post.", "type": "integer"},
        "context": CONTEXT,
        "password": {
            "description": "The password for the post if it is password protected.",
            "type": "string",
        },
    }


_TEXT_FIELD = {"type": ["string", "object"], "description": "A string, or an object with `raw`."}


def post_write_args(kind: str, *, create: bool) -> dict:
    args = {
        "date": {
            "description": "The date the post was published, in the site's timezone.",
            "type": ["string", "null"],
            "format": "date-time",
        },
        "date_gmt": {
            "description": "The date the post was published, as GMT.",
            "type": ["string", "null"],
            "format": "date-time",
        },
        "slug": {
            "description": "An alphanumeric identifier for the post unique to its type.",
            "type": "string",
        },
        "status": {
            "description": "A named status for the post.",
            "type": "string",
            "enum": ["publish", "future", "draft", "pending", "private"],
        },
        "password": {
            "description": "A password to protect access to the content and excerpt.",
            "type": "string",
        },
        "title": {**_TEXT_FIELD, "description": "The title for the post."},
        "content": {**_TEXT_FIELD, "description": "The content for the post."},
        "excerpt": {**_TEXT_FIELD, "description": "The excerpt for the post."},
        "author": {"description": "The ID for the author of the post.", "type": "integer"},
        "featured_media": {
            "description": "The ID of the featured media for the post.",
            "type": "integer",
        },
        "comment_status": {
            "description": "Whether or not comments are open on the post.",
            "type": "string",
            "enum": ["open", "closed"],
        },
        "ping_status": {
            "description": "Whether or not the post can be pinged (accepted, not used).",
            "type": "string",
            "enum": ["open", "closed"],
        },
        "template": {
            "description": "The theme file to use to display the post (accepted, not used).",
            "type": "string",
        },
        "meta": {"description": "Meta fields (none are registered).", "type": ["object", "array"]},
    }
    if not create:
        args["id"] = {"description": "Unique identifier for the post.", "type": "integer"}
    if kind == "page":
        args["parent"] = {"description": "The ID for the parent of the post.", "type": "integer"}
        args["menu_order"] = {
            "description": "The order of the post in relation to other posts.",
            "type": "integer",
        }
    else:
        args.update(
            {
                "format": {
                    "description": "The format for the post.",
                    "type": "string",
                    "enum": ["standard"],
                },
                "sticky": {
                    "description": "Whether or not the post should be treated as sticky.",
                    "type": "boolean",
                },
                "categories": _int_list("The terms assigned to the post in the category taxonomy."),
                "tags": _int_list("The terms assigned to the post in the post_tag taxonomy."),
            }
        )
    return args


def delete_args(what: str) -> dict:
    return {
        "id": {"description": f"Unique identifier for the {what}.", "type": "integer"},
        "force": {
            "description": "Whether to bypass Trash and force deletion.",
            "type": "boolean",
            "default": False,
        },
    }


_RENDERED = {
    "type": "object",
    "properties": {"rendered": {"type": "string"}, "raw": {"type": "string"}},
    "required": ["rendered"],
}
_PROTECTED = {
    "type": "object",
    "properties": {
        "rendered": {"type": "string"},
        "raw": {"type": "string"},
        "protected": {"type": "boolean"},
    },
    "required": ["rendered", "protected"],
}
_DATE = {"type": ["string", "null"], "format": "date-time"}
_LINKS = {"type": "object"}


def post_schema(kind: str) -> dict:
    properties = {
        "id": {"type": "integer", "readOnly": True},
        "date": _DATE,
        "date_gmt": _DATE,
        "guid": _RENDERED,
        "modified": _DATE,
        "modified_gmt": _DATE,
        "slug": {"type": "string"},
        "status": {"type": "string", "enum": POST_STATUSES},
        "type": {"type": "string", "enum": [kind]},
        "link": {"type": "string", "format": "uri"},
        "title": _RENDERED,
        "content": _PROTECTED,
        "excerpt": _PROTECTED,
        "author": {"type": "integer"},
        "featured_media": {"type": "integer"},
        "comment_status": {"type": "string", "enum": ["open", "closed"]},
        "ping_status": {"type": "string", "enum": ["open", "closed"]},
        "template": {"type": "string"},
        "meta": {"type": ["object", "array"]},
        "password": {"type": "string"},
        "_links": _LINKS,
        "_embedded": {"type": "object"},
    }
    if kind == "page":
        properties["parent"] = {"type": "integer"}
        properties["menu_order"] = {"type": "integer"}
    else:
        properties.update(
            {
                "sticky": {"type": "boolean"},
                "format": {"type": "string"},
                "categories": {"type": "array", "items": {"type": "integer"}},
                "tags": {"type": "array", "items": {"type": "integer"}},
            }
        )
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": kind,
        "type": "object",
        "properties": properties,
        "required": ["id", "slug", "type", "link", "title"],
    }
