"""/wp/v2/posts and /wp/v2/pages: collections, items, and writes through blog's services."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from django.db.models import Case, IntegerField, Q, When
from django.utils import timezone

from blog import services
from blog.models import Post
from wordpress.api import schemas
from wordpress.api.errors import WPError, forbidden, invalid_params
from wordpress.api.fields import wanted_embeds
from wordpress.api.params import flatten_query
from wordpress.api.post_shapes import shape_posts
from wordpress.api.routing import CREATE, DELETE, EDIT, READ, Call, Endpoint, Reply, Route, register

_INVALID_ID = "Invalid post ID."
_ORDER_FIELDS = {
    "date": "published_at",
    "id": "id",
    "modified": "updated_at",
    "title": "title",
    "slug": "slug",
    "author": "author_id",
    "parent": "parent_id",
    "menu_order": "menu_order",
}


def _rest(kind: str) -> str:
    return "pages" if kind == Post.Kind.PAGE else "posts"


def _can_edit_type(user, kind: str) -> bool:
    perm = "blog.change_page" if kind == Post.Kind.PAGE else "blog.change_post"
    return user.is_authenticated and user.is_staff and user.has_perm(perm)


def _status_filter(statuses: list[str], user, kind: str) -> Q:
    now = timezone.now()
    public = Q(status__in=[Post.Status.PUBLISHED, Post.Status.FUTURE], published_at__lte=now)
    if "any" in statuses:
        statuses = [s for s in schemas.POST_STATUSES if s != "trash"]
    condition = Q(pk__in=[])
    others = kind == Post.Kind.PAGE or user.has_perm("blog.edit_others_posts")
    for status in statuses:
        if status == "publish":
            condition |= public
            continue
        if status == "future":
            wanted = Q(status=Post.Status.FUTURE, published_at__gt=now)
        else:
            wanted = Q(status=status)
        if status == "private":
            if not (others or user.has_perm("blog.read_private_posts")):
                wanted &= Q(author=user)
        elif not others:
            wanted &= Q(author=user)
        condition |= wanted
    return condition


def _collection_queryset(call: Call, kind: str):
    args, user = call.args, call.user
    statuses = args["status"]
    if statuses != ["publish"] and not _can_edit_type(user, kind):
        raise invalid_params({"status": "Status is forbidden."})
    qs = Post.objects.filter(kind=kind).filter(_status_filter(statuses, user, kind))
    if args.get("search"):
        # The site's full-text search; drafts and the like, which only editors list, by LIKE.
        qs = qs.filter(services.search_filter(args["search"], unpublished=statuses != ["publish"]))
    for name, lookup in (("author", "author_id__in"), ("include", "pk__in"), ("slug", "slug__in")):
        if args.get(name):
            qs = qs.filter(**{lookup: args[name]})
    if args.get("author_exclude"):
        qs = qs.exclude(author_id__in=args["author_exclude"])
    if args.get("exclude"):
        qs = qs.exclude(pk__in=args["exclude"])
    for name, lookup in (
        ("after", "published_at__gt"),
        ("before", "published_at__lt"),
        ("modified_after", "updated_at__gt"),
        ("modified_before", "updated_at__lt"),
    ):
        if args.get(name):
            qs = qs.filter(**{lookup: args[name]})
    qs = _page_filters(qs, args) if kind == Post.Kind.PAGE else _post_filters(qs, args)
    return _ordered(qs, args)


def _post_filters(qs, args):
    through = {"categories": Post.categories.through, "tags": Post.tags.through}
    term_field = {"categories": "category_id", "tags": "tag_id"}
    conditions = []
    for name in ("categories", "tags"):
        if args.get(name):
            rows = through[name].objects.filter(**{f"{term_field[name]}__in": args[name]})
            conditions.append(Q(pk__in=rows.values("post_id")))
        if args.get(f"{name}_exclude"):
            rows = through[name].objects.filter(
                **{f"{term_field[name]}__in": args[f"{name}_exclude"]}
            )
            qs = qs.exclude(pk__in=rows.values("post_id"))
    if conditions:
        combined = conditions[0]
        for condition in conditions[1:]:
            combined = (
                combined | condition if args.get("tax_relation") == "OR" else combined & condition
            )
        qs = qs.filter(combined)
    if args.get("sticky") is not None:
        qs = qs.filter(sticky=args["sticky"])
    return qs


def _page_filters(qs, args):
    if args.get("parent"):
        top = 0 in args["parent"]
        condition = Q(parent_id__in=[p for p in args["parent"] if p])
        qs = qs.filter(condition | Q(parent__isnull=True) if top else condition)
    if args.get("parent_exclude"):
        qs = qs.exclude(parent_id__in=args["parent_exclude"])
    if args.get("menu_order") is not None:
        qs = qs.filter(menu_order=args["menu_order"])
    return qs


def _ordered(qs, args):
    orderby, descending = args["orderby"], args["order"] == "desc"
    if orderby == "relevance" and not args.get("search"):
        raise WPError(
            "rest_no_search_term_defined",
            "You need to define a search term to order by relevance.",
            400,
        )
    if orderby in ("include", "include_slugs"):
        values = args.get("include" if orderby == "include" else "slug")
        if not values:
            raise WPError(
                f"rest_orderby_{orderby}_missing_{'include' if orderby == 'include' else 'slugs'}",
                f"You need to define an {orderby} parameter to order by {orderby}.",
                400,
            )
        field = "pk" if orderby == "include" else "slug"
        position = Case(
            *(When(**{field: v}, then=i) for i, v in enumerate(values)), output_field=IntegerField()
        )
        return qs.order_by(position, "id")
    column = _ORDER_FIELDS.get(orderby, "published_at")
    sign = "-" if descending else ""
    return qs.order_by(f"{sign}{column}", f"{sign}id")


def paginate(call: Call, qs, *, route: str) -> tuple[list, dict]:
    """The page asked for, and WordPress's X-WP-Total, X-WP-TotalPages and Link headers."""
    per_page, page = call.args["per_page"], call.args["page"]
    offset = call.args.get("offset")
    total = qs.count()
    pages = math.ceil(total / per_page) if total else 0
    if page > pages and total > 0:
        raise WPError(
            "rest_post_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
            400,
        )
    start = offset if offset is not None else (page - 1) * per_page
    rows = list(qs[start : start + per_page]) if total else []
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    query = {k: v for k, v in call.request.query_params.lists() if k not in ("page", "rest_route")}
    links = []

    def page_url(n: int) -> str:
        pairs = [(k, v) for k, values in query.items() for v in values] + [("page", n)]
        return f"{call.link(route)}?{urlencode(pairs)}"

    if page > 1:
        links.append(f'<{page_url(min(page - 1, max(pages, 1)))}>; rel="prev"')
    if page < pages:
        links.append(f'<{page_url(page + 1)}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return rows, headers


def _forbid_edit_context(call: Call, kind: str) -> None:
    if call.context == "edit" and not _can_edit_type(call.user, kind):
        raise forbidden(
            call.user,
            "rest_forbidden_context",
            f"Sorry, you are not allowed to edit {_rest(kind)} in this post type.",
        )


def _list(kind: str):
    def handler(call: Call) -> Reply:
        _forbid_edit_context(call, kind)
        qs = _collection_queryset(call, kind).select_related("author", "featured_image")
        qs = qs.prefetch_related("categories", "tags") if kind == Post.Kind.POST else qs
        rows, headers = paginate(call, qs, route=f"wp/v2/{_rest(kind)}")
        embeds = wanted_embeds(flatten_query(call.request.query_params))
        return Reply(shape_posts(rows, call, embeds), headers=headers)

    return handler


def _get_post(call: Call, kind: str) -> Post:
    post = (
        Post.objects.filter(kind=kind, pk=call.args["id"])
        .select_related("author", "featured_image")
        .first()
    )
    if post is None:
        raise WPError("rest_post_invalid_id", _INVALID_ID, 404)
    return post


def _readable(call: Call, post: Post) -> None:
    if post.status == Post.Status.TRASH:
        if not services.post_can_edit(user=call.user, post=post):
            raise forbidden(call.user)
        return
    if not services.post_can_read(user=call.user, post=post):
        raise forbidden(call.user)
    if call.context == "edit" and not services.post_can_edit(user=call.user, post=post):
        raise forbidden(
            call.user, "rest_forbidden_context", "Sorry, you are not allowed to edit this post."
        )
    given = call.args.get("password")
    if post.password and given and given != post.password:
        raise WPError("rest_post_incorrect_password", "Incorrect post password.", 403)


def _one(kind: str):
    def handler(call: Call) -> Reply:
        post = _get_post(call, kind)
        _readable(call, post)
        embeds = wanted_embeds(flatten_query(call.request.query_params))
        return Reply(shape_posts([post], call, embeds)[0])

    return handler


def register_routes() -> None:
    from wordpress.api.post_writes import create_handler, delete_handler, update_handler

    for kind in (Post.Kind.POST, Post.Kind.PAGE):
        rest = _rest(kind)
        register(
            Route(
                f"/wp/v2/{rest}",
                "wp/v2",
                [
                    Endpoint(READ, _list(kind), schemas.post_collection_args(kind)),
                    Endpoint(
                        CREATE,
                        create_handler(kind),
                        schemas.post_write_args(kind, create=True),
                        strict_body=True,
                    ),
                ],
                schema=lambda kind=kind: schemas.post_schema(kind),
            )
        )
        register(
            Route(
                rf"/wp/v2/{rest}/(?P<id>[\d]+)",
                "wp/v2",
                [
                    Endpoint(READ, _one(kind), schemas.post_item_args()),
                    Endpoint(
                        EDIT,
                        update_handler(kind),
                        schemas.post_write_args(kind, create=False),
                        strict_body=True,
                    ),
                    Endpoint(DELETE, delete_handler(kind), schemas.delete_args("post")),
                ],
                schema=lambda kind=kind: schemas.post_schema(kind),
            )
        )
