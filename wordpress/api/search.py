"""/wp/v2/search: one list of posts and pages (`type=post`) or of categories and tags
(`type=term`), in WordPress's search-result shape: id, title, url, type, subtype, _links.

As WordPress's post search handler: published content only (whoever asks), ordered by
relevance. It is the site's own search (blog/services/search.py): full text, title matches
first, a password-protected post by its title only, so a search can never probe the words
of a body it would not show.
"""

from __future__ import annotations

from dataclasses import replace

from django.db.models import Q

from blog.models import Category, Post, Tag
from blog.services import SearchResults, post_search
from wordpress.api import schemas
from wordpress.api.params import flatten_query
from wordpress.api.post_shapes import shape_posts
from wordpress.api.posts import paginate
from wordpress.api.routing import READ, Call, Endpoint, Reply, Route, register
from wordpress.api.shapes import rendered_text, term_shape

POST_SUBTYPES = ("post", "page")
TERM_SUBTYPES = ("category", "post_tag")
_TERM_MODELS = {"category": (Category, "categories"), "post_tag": (Tag, "tags")}


def _subtypes(call: Call, allowed: tuple[str, ...]) -> list[str]:
    # WordPress drops the subtypes that belong to another type; none left means any.
    given = call.args["subtype"]
    wanted = [s for s in given if s in allowed]
    return list(allowed) if not wanted or "any" in given else wanted


def _post_results(call: Call) -> Reply:
    kinds = _subtypes(call, POST_SUBTYPES)
    search = call.args.get("search")
    if search:
        found = post_search(
            query=search,
            kinds=kinds,
            include=call.args.get("include"),
            exclude=call.args.get("exclude"),
        )
        rows, headers = paginate(call, _Hits(found), route="wp/v2/search")
    else:
        qs = Post.objects.published().filter(kind__in=kinds).order_by("-published_at", "-id")
        if call.args.get("include"):
            qs = qs.filter(pk__in=call.args["include"])
        if call.args.get("exclude"):
            qs = qs.exclude(pk__in=call.args["exclude"])
        rows, headers = paginate(
            call, qs.only("id", "kind", "title", "slug", "published_at"), route="wp/v2/search"
        )
    results = [_post_result(post, call) for post in rows]
    if _embeds_self(call):
        _embed_posts(results, rows, call)
    return Reply(results, headers=headers)


def _embeds_self(call: Call) -> bool:
    # WordPress embeds a result's `self` link (the post or term) for `_embed`/`_embed=self`.
    query = flatten_query(call.request.query_params)
    if "_embed" not in query:
        return False
    value = query["_embed"]
    names = value if isinstance(value, list) else str(value or "").split(",")
    names = {n.strip() for n in names if n.strip()}
    return not names or bool(names & {"1", "true", "self"})


def _embed_posts(results: list[dict], rows: list[Post], call: Call) -> None:
    """Each result's post in `embed` context: one query for the page of them, whatever
    its size (the posts collection's own shaping, so the objects are the same)."""
    ids = [post.pk for post in rows]
    posts = (
        Post.objects.filter(pk__in=ids)
        .select_related("author", "featured_image")
        .prefetch_related("categories", "tags")
        .in_bulk()
    )
    ordered = [posts[pk] for pk in ids if pk in posts]
    embedded = shape_posts(ordered, replace(call, args={**call.args, "context": "embed"}), set())
    shaped = {item["id"]: item for item in embedded}
    for result in results:
        if result["id"] in shaped:
            result["_embedded"] = {"self": [shaped[result["id"]]]}


class _Hits:
    """Search results as paginate() reads a query set: count(), and a slice of posts."""

    def __init__(self, results: SearchResults):
        self.results = results

    def count(self) -> int:
        return self.results.count()

    def __getitem__(self, window: slice) -> list[Post]:
        ids = [hit.post_id for hit in self.results[window]]
        posts = Post.objects.only("id", "kind", "title", "slug", "published_at").in_bulk(ids)
        return [posts[pk] for pk in ids if pk in posts]


def _post_result(post: Post, call: Call) -> dict:
    rest = "pages" if post.kind == Post.Kind.PAGE else "posts"
    return {
        "id": post.pk,
        "title": rendered_text(post.title)["rendered"],
        "url": call.absolute(post.get_absolute_url()),
        "type": "post",
        "subtype": post.kind,
        "_links": {
            "self": [{"embeddable": True, "href": call.link(f"wp/v2/{rest}/{post.pk}")}],
            "about": [{"href": call.link(f"wp/v2/types/{post.kind}")}],
        },
    }


def _term_results(call: Call) -> Reply:
    rows: list = []
    for taxonomy in _subtypes(call, TERM_SUBTYPES):
        model, _ = _TERM_MODELS[taxonomy]
        qs = model.objects.all()
        search = call.args.get("search")
        if search:
            qs = qs.filter(Q(name__icontains=search) | Q(slug__icontains=search))
        if call.args.get("include"):
            qs = qs.filter(pk__in=call.args["include"])
        if call.args.get("exclude"):
            qs = qs.exclude(pk__in=call.args["exclude"])
        rows.extend((taxonomy, term) for term in qs.order_by("name", "id"))
    # Two small tables, searched by name: paginated in memory, as one list.
    page_rows, headers = paginate(call, _Listed(rows), route="wp/v2/search")
    results = [_term_result(t, term, call) for t, term in page_rows]
    if _embeds_self(call):
        # The terms are loaded already: no query more.
        for result, (_, term) in zip(results, page_rows, strict=True):
            result["_embedded"] = {"self": [term_shape(term, call, context="embed")]}
    return Reply(results, headers=headers)


class _Listed(list):
    """A list that paginate() can count and slice like a query set."""

    def count(self) -> int:  # type: ignore[override]
        return len(self)


def _term_result(taxonomy: str, term, call: Call) -> dict:
    _, rest = _TERM_MODELS[taxonomy]
    return {
        "id": term.pk,
        "title": term.name,
        "url": call.absolute(term.get_absolute_url()),
        "type": "term",
        "subtype": taxonomy,
        "_links": {
            "self": [{"embeddable": True, "href": call.link(f"wp/v2/{rest}/{term.pk}")}],
            "about": [{"href": call.link(f"wp/v2/taxonomies/{taxonomy}")}],
        },
    }


def _search(call: Call) -> Reply:
    if call.args["type"] == "term":
        return _term_results(call)
    if call.args["type"] == "post-format":
        # Every post is `standard`, which WordPress does not list as a format term.
        return Reply([], headers={"X-WP-Total": "0", "X-WP-TotalPages": "0"})
    return _post_results(call)


def search_schema() -> dict:
    readonly = {"readonly": True, "context": ["view", "embed"]}
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "search-result",
        "type": "object",
        "properties": {
            "id": {
                "description": "Unique identifier for the object.",
                "type": ["integer", "string"],
                **readonly,
            },
            "title": {"description": "The title for the object.", "type": "string", **readonly},
            "url": {
                "description": "URL to the object.",
                "type": "string",
                "format": "uri",
                **readonly,
            },
            "type": {
                "description": "Object type.",
                "type": "string",
                "enum": ["post", "term", "post-format"],
                **readonly,
            },
            "subtype": {
                "description": "Object subtype.",
                "type": "string",
                "enum": [*POST_SUBTYPES, *TERM_SUBTYPES],
                **readonly,
            },
            "_links": {"type": "object"},
        },
        "required": ["id", "title", "url", "type", "subtype"],
    }


def search_args() -> dict:
    base = schemas.collection_args(orderby=["relevance"], default_orderby="relevance")
    return {
        "context": {**schemas.CONTEXT, "enum": ["view", "embed"]},
        "page": base["page"],
        "per_page": base["per_page"],
        "search": base["search"],
        "type": {
            "default": "post",
            "description": "Limit results to items of an object type.",
            "type": "string",
            "enum": ["post", "term", "post-format"],
        },
        "subtype": {
            # WordPress declares the string "any"; a list is what the type says.
            "default": ["any"],
            "description": "Limit results to items of one or more object subtypes.",
            "type": "array",
            "items": {"enum": [*POST_SUBTYPES, *TERM_SUBTYPES, "any"], "type": "string"},
        },
        "exclude": {**base["exclude"], "description": "Ensure result set excludes specific IDs."},
        "include": {**base["include"], "description": "Limit result set to specific IDs."},
    }


def register_routes() -> None:
    register(
        Route(
            "/wp/v2/search",
            "wp/v2",
            [Endpoint(READ, _search, search_args())],
            schema=search_schema,
        )
    )
