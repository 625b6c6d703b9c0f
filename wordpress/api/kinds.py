"""/wp/v2/types, /wp/v2/statuses and /wp/v2/taxonomies: what kinds of content the site
has, as WordPress describes its post types, post statuses and taxonomies.

Each field is shown in the contexts its schema names (WordPress's
filter_response_by_context), and `context=edit` needs the capability WordPress asks:
edit_posts of the type, assign_terms or manage_terms of the taxonomy.
"""

from __future__ import annotations

from wordpress.api import schemas
from wordpress.api.errors import WPError, forbidden
from wordpress.api.routing import READ, Call, Endpoint, Reply, Route, register
from wordpress.api.shapes import CURIES

_ALL = ["view", "edit", "embed"]
_VIEW = ["view", "edit"]
_EDIT = ["edit"]


def _can_edit_type(user, slug: str) -> bool:
    if not user.is_authenticated or not user.is_staff:
        return False
    perm = {
        "post": "blog.change_post",
        "page": "blog.change_page",
        "attachment": "media_library.add_mediaitem",
    }[slug]
    return user.has_perm(perm)


def _can_assign(user) -> bool:
    # assign_terms is edit_posts for both taxonomies, as in WordPress.
    return _can_edit_type(user, "post")


def _can_manage(user, taxonomy: str) -> bool:
    perm = "blog.change_category" if taxonomy == "category" else "blog.change_tag"
    return user.is_authenticated and user.has_perm(perm)


def by_context(data: dict, schema: dict, context: str) -> dict:
    """Only the fields whose schema lists `context` (fields without a list always stay)."""
    properties = schema["properties"]
    return {
        name: value
        for name, value in data.items()
        if context in properties.get(name, {}).get("context", [context])
    }


def _object_schema(title: str, fields: dict[str, tuple[object, list[str], str]]) -> dict:
    properties = {
        name: {"description": description, "type": kind, "context": contexts, "readonly": True}
        for name, (kind, contexts, description) in fields.items()
    }
    properties["_links"] = {"type": "object"}
    # Required are the fields every context shows; the others depend on `context`.
    required = [name for name, (_, contexts, _) in fields.items() if set(contexts) >= set(_ALL)]
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": title,
        "type": "object",
        "properties": properties,
        "required": required,
    }


def _visibility_labels(name: str, singular: str) -> dict:
    return {"name": name, "singular_name": singular, "menu_name": name, "all_items": f"All {name}"}


# --- Post types ---------------------------------------------------------------

_TYPES = {
    "post": {
        "name": "Posts",
        "singular": "Post",
        "hierarchical": False,
        "icon": "dashicons-admin-post",
        "taxonomies": ["category", "post_tag"],
        "rest_base": "posts",
        "supports": ["title", "editor", "author", "thumbnail", "excerpt", "comments"],
    },
    "page": {
        "name": "Pages",
        "singular": "Page",
        "hierarchical": True,
        "icon": "dashicons-admin-page",
        "taxonomies": [],
        "rest_base": "pages",
        "supports": ["title", "editor", "author", "thumbnail", "page-attributes", "comments"],
    },
    "attachment": {
        "name": "Media",
        "singular": "Media",
        "hierarchical": False,
        "icon": "dashicons-admin-media",
        "taxonomies": [],
        "rest_base": "media",
        "supports": ["title", "author", "comments"],
    },
}


def type_schema() -> dict:
    return _object_schema(
        "type",
        {
            "capabilities": ("object", _EDIT, "All capabilities used by the post type."),
            "description": ("string", _VIEW, "A human-readable description of the post type."),
            "hierarchical": ("boolean", _VIEW, "Whether or not the post type should have children."),
            "viewable": ("boolean", _EDIT, "Whether or not the post type can be viewed."),
            "labels": ("object", _EDIT, "Human-readable labels for the post type for various contexts."),
            "name": ("string", _ALL, "The title for the post type."),
            "slug": ("string", _ALL, "An alphanumeric identifier for the post type."),
            "supports": ("object", _EDIT, "All features, supported by the post type."),
            "has_archive": (["string", "boolean"], _VIEW, "If the value is a string, the value will be used as the archive slug. If the value is false the post type has no archive."),
            "taxonomies": ("array", _VIEW, "Taxonomies associated with post type."),
            "rest_base": ("string", _ALL, "REST base route for the post type."),
            "rest_namespace": ("string", _ALL, "REST route's namespace for the post type."),
            "visibility": ("object", _EDIT, "The visibility settings for the post type."),
            "icon": (["string", "null"], _ALL, "The icon for the post type."),
            "template": ("array", _EDIT, "The block template associated with the post type."),
            "template_lock": (["string", "boolean"], _EDIT, "The template_lock associated with the post type, or false if none."),
        },
    )  # fmt: skip


def _type_shape(slug: str, call: Call) -> dict:
    spec = _TYPES[slug]
    data = {
        "capabilities": {
            "edit_posts": f"edit_{slug}s",
            "publish_posts": f"publish_{slug}s",
            "read_private_posts": f"read_private_{slug}s",
        },
        "description": "",
        "hierarchical": spec["hierarchical"],
        "has_archive": False,
        "visibility": {"show_in_nav_menus": slug != "attachment", "show_ui": True},
        "viewable": True,
        "labels": _visibility_labels(spec["name"], spec["singular"]),
        "name": spec["name"],
        "slug": slug,
        "icon": spec["icon"],
        "supports": dict.fromkeys(spec["supports"], True),
        "taxonomies": spec["taxonomies"],
        "rest_base": spec["rest_base"],
        "rest_namespace": "wp/v2",
        "template": [],
        "template_lock": False,
        "_links": {
            "collection": [{"href": call.link("wp/v2/types")}],
            "wp:items": [{"href": call.link(f"wp/v2/{spec['rest_base']}")}],
            "curies": CURIES,
        },
    }
    return by_context(data, type_schema(), call.context)


def _types(call: Call) -> Reply:
    slugs = list(_TYPES)
    if call.context == "edit":
        slugs = [s for s in slugs if _can_edit_type(call.user, s)]
        if not slugs:
            raise forbidden(
                call.user,
                "rest_cannot_view",
                "Sorry, you are not allowed to edit posts in this post type.",
            )
    return Reply({slug: _type_shape(slug, call) for slug in slugs})


def _item(name: str, known: dict, invalid: tuple[str, str], may_edit, denied: str, shape):
    """A handler for one named item: 404 when unknown, `context=edit` only if `may_edit`."""

    def handler(call: Call) -> Reply:
        slug = call.args[name]
        if slug not in known:
            raise WPError(*invalid, 404)
        if call.context == "edit" and not may_edit(call.user, slug):
            raise forbidden(call.user, "rest_forbidden_context", denied)
        return Reply(shape(slug, call))

    return handler


# --- Post statuses ------------------------------------------------------------

# name, private, protected, public, queryable, show_in_list, date_floating
_STATUSES = {
    "publish": ("Published", False, False, True, True, True, False),
    "future": ("Scheduled", False, True, False, False, True, False),
    "draft": ("Draft", False, True, False, False, True, True),
    "pending": ("Pending", False, True, False, False, True, True),
    "private": ("Private", True, False, False, False, True, False),
    "trash": ("Trash", False, False, False, False, False, False),
}


def status_schema() -> dict:
    return _object_schema(
        "status",
        {
            "name": ("string", _ALL, "The title for the status."),
            "private": ("boolean", _EDIT, "Whether posts with this status should be private."),
            "protected": ("boolean", _EDIT, "Whether posts with this status should be protected."),
            "public": ("boolean", ["view"], "Whether posts of this status should be shown in the front end of the site."),
            "queryable": ("boolean", ["view"], "Whether posts with this status should be publicly-queryable."),
            "show_in_list": ("boolean", _EDIT, "Whether to include posts in the edit listing for their post type."),
            "slug": ("string", _ALL, "An alphanumeric identifier for the status."),
            "date_floating": ("boolean", _VIEW, "Whether posts of this status may have floating published dates."),
        },
    )  # fmt: skip


def _status_readable(user, slug: str) -> bool:
    # WordPress: a public status for everyone, the others for whoever may edit posts.
    return _STATUSES[slug][3] or any(_can_edit_type(user, t) for t in ("post", "page"))


def _status_shape(slug: str, call: Call) -> dict:
    name, private, protected, public, queryable, show_in_list, floating = _STATUSES[slug]
    archives = (
        call.link("wp/v2/posts") if slug == "publish" else call.link("wp/v2/posts", status=slug)
    )
    data = {
        "name": name,
        "private": private,
        "protected": protected,
        "public": public,
        "queryable": queryable,
        "show_in_list": show_in_list,
        "slug": slug,
        "date_floating": floating,
        "_links": {"archives": [{"href": archives}]},
    }
    return by_context(data, status_schema(), call.context)


def _statuses(call: Call) -> Reply:
    editor = any(_can_edit_type(call.user, t) for t in ("post", "page"))
    if call.context == "edit" and not editor:
        raise forbidden(
            call.user, "rest_cannot_view", "Sorry, you are not allowed to manage post statuses."
        )
    slugs = [s for s in _STATUSES if _status_readable(call.user, s)]
    return Reply({slug: _status_shape(slug, call) for slug in slugs})


def _status(call: Call) -> Reply:
    slug = call.args["status"]
    if slug not in _STATUSES:
        raise WPError("rest_status_invalid", "Invalid status.", 404)
    if not _status_readable(call.user, slug):
        raise forbidden(call.user, "rest_cannot_read_status", "Cannot view status.")
    return Reply(_status_shape(slug, call))


# --- Taxonomies ---------------------------------------------------------------

_TAXONOMIES = {
    "category": ("Categories", "Category", True, "categories"),
    "post_tag": ("Tags", "Tag", False, "tags"),
}


def taxonomy_schema() -> dict:
    return _object_schema(
        "taxonomy",
        {
            "capabilities": ("object", _EDIT, "All capabilities used by the taxonomy."),
            "description": ("string", _VIEW, "A human-readable description of the taxonomy."),
            "hierarchical": ("boolean", _VIEW, "Whether or not the taxonomy should have children."),
            "labels": ("object", _EDIT, "Human-readable labels for the taxonomy for various contexts."),
            "name": ("string", _ALL, "The title for the taxonomy."),
            "slug": ("string", _ALL, "An alphanumeric identifier for the taxonomy."),
            "show_cloud": ("boolean", _EDIT, "Whether or not the term cloud should be displayed."),
            "types": ("array", _VIEW, "Types associated with the taxonomy."),
            "rest_base": ("string", _ALL, "REST base route for the taxonomy."),
            "rest_namespace": ("string", _ALL, "REST namespace route for the taxonomy."),
            "visibility": ("object", _EDIT, "The visibility settings for the taxonomy."),
        },
    )  # fmt: skip


def _taxonomy_shape(slug: str, call: Call) -> dict:
    name, singular, hierarchical, rest_base = _TAXONOMIES[slug]
    data = {
        "name": name,
        "slug": slug,
        "capabilities": {
            "manage_terms": "manage_categories",
            "edit_terms": "manage_categories",
            "delete_terms": "manage_categories",
            "assign_terms": "edit_posts",
        },
        "description": "",
        "labels": _visibility_labels(name, singular),
        "types": ["post"],
        "show_cloud": True,
        "hierarchical": hierarchical,
        "rest_base": rest_base,
        "rest_namespace": "wp/v2",
        "visibility": {"public": True, "publicly_queryable": True, "show_ui": True},
        "_links": {
            "collection": [{"href": call.link("wp/v2/taxonomies")}],
            "wp:items": [{"href": call.link(f"wp/v2/{rest_base}")}],
            "curies": CURIES,
        },
    }
    return by_context(data, taxonomy_schema(), call.context)


def _taxonomies(call: Call) -> Reply:
    slugs = list(_TAXONOMIES)
    if call.args.get("type"):
        slugs = [s for s in slugs if call.args["type"] == "post"]
    if call.context == "edit":
        if not _can_assign(call.user):
            raise forbidden(
                call.user,
                "rest_cannot_view",
                "Sorry, you are not allowed to manage terms in this taxonomy.",
            )
    return Reply({slug: _taxonomy_shape(slug, call) for slug in slugs})


def _register(rest: str, name: str, what: str, listing, item, schema, args=None) -> None:
    context = {"context": schemas.CONTEXT}
    path = f"/wp/v2/{rest}"
    listing_endpoint = Endpoint(READ, listing, args or context)
    register(Route(path, "wp/v2", [listing_endpoint], schema=schema, answers="map"))
    item_args = {
        name: {"description": f"An alphanumeric identifier for the {what}.", "type": "string"},
        **context,
    }
    register(
        Route(
            rf"{path}/(?P<{name}>[\w-]+)",
            "wp/v2",
            [Endpoint(READ, item, item_args)],
            schema=schema,
        )
    )


def register_routes() -> None:
    _register(
        "types",
        "type",
        "post type",
        _types,
        _item(
            "type",
            _TYPES,
            ("rest_type_invalid", "Invalid post type."),
            _can_edit_type,
            "Sorry, you are not allowed to edit posts in this post type.",
            _type_shape,
        ),
        type_schema,
    )
    _register("statuses", "status", "status", _statuses, _status, status_schema)
    _register(
        "taxonomies",
        "taxonomy",
        "taxonomy",
        _taxonomies,
        _item(
            "taxonomy",
            _TAXONOMIES,
            ("rest_taxonomy_invalid", "Invalid taxonomy."),
            _can_manage,
            "Sorry, you are not allowed to manage terms in this taxonomy.",
            _taxonomy_shape,
        ),
        taxonomy_schema,
        args={
            "context": schemas.CONTEXT,
            "type": {
                "description": "Limit results to taxonomies associated with a specific post type.",
                "type": "string",
            },
        },
    )
