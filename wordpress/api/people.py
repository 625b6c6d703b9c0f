"""/wp/v2/users: public authors for everyone, everybody for those who manage users,
and /wp/v2/users/me for whoever is calling. Emails only in `context=edit`, and only to
the user themself or someone who may manage users."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from blog.models import Post
from wordpress.api import schemas
from wordpress.api.errors import WPError, forbidden
from wordpress.api.posts import paginate
from wordpress.api.routing import READ, Call, Endpoint, Reply, Route, register
from wordpress.api.shapes import user_shape

_ORDER = {
    "id": "id",
    "name": "first_name",
    "slug": "username",
    "username": "username",
    "email": "email",
    "registered_date": "date_joined",
}


def _may_list_all(user) -> bool:
    return user.is_authenticated and user.has_perm("auth.view_user")


def _published_authors():
    published = Post.objects.filter(
        author=OuterRef("pk"),
        status__in=[Post.Status.PUBLISHED, Post.Status.FUTURE],
        published_at__lte=timezone.now(),
    )
    return get_user_model().objects.filter(Exists(published))


def _context(call: Call, user) -> str:
    if call.context != "edit":
        return call.context
    if call.user.is_authenticated and (
        call.user.pk == user.pk or call.user.has_perm("auth.change_user")
    ):
        return "edit"
    raise forbidden(
        call.user, "rest_forbidden_context", "Sorry, you are not allowed to edit this user."
    )


def _list(call: Call) -> Reply:
    args = call.args
    User = get_user_model()
    qs = User.objects.all() if _may_list_all(call.user) else _published_authors()
    if args.get("search"):
        term = args["search"]
        qs = qs.filter(
            Q(username__icontains=term)
            | Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
        )
    for name, lookup in (("include", "pk__in"), ("slug", "username__in")):
        if args.get(name):
            qs = qs.filter(**{lookup: args[name]})
    if args.get("exclude"):
        qs = qs.exclude(pk__in=args["exclude"])
    if args.get("who") == "authors":
        qs = qs.filter(is_staff=True)
    column = _ORDER.get(args["orderby"], "first_name")
    sign = "-" if args["order"] == "desc" else ""
    if call.context == "edit" and not (
        call.user.is_authenticated and call.user.has_perm("auth.change_user")
    ):
        raise forbidden(
            call.user, "rest_forbidden_context", "Sorry, you are not allowed to list users."
        )
    rows, headers = paginate(call, qs.order_by(f"{sign}{column}", "id"), route="wp/v2/users")
    return Reply([user_shape(u, call, context=call.context) for u in rows], headers=headers)


def _one(call: Call) -> Reply:
    User = get_user_model()
    user = User.objects.filter(pk=call.args["id"]).first()
    if user is None:
        raise WPError("rest_user_invalid_id", "Invalid user ID.", 404)
    visible = _may_list_all(call.user) or call.user.pk == user.pk
    if not visible and not _published_authors().filter(pk=user.pk).exists():
        raise forbidden(
            call.user, "rest_user_cannot_view", "Sorry, you are not allowed to list users."
        )
    return Reply(user_shape(user, call, context=_context(call, user)))


def _me(call: Call) -> Reply:
    if not call.user.is_authenticated:
        raise WPError("rest_not_logged_in", "You are not currently logged in.", 401)
    return Reply(user_shape(call.user, call, context=_context(call, call.user)))


def user_schema() -> dict:
    return {
        "title": "user",
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "url": {"type": "string"},
            "description": {"type": "string"},
            "link": {"type": "string", "format": "uri"},
            "slug": {"type": "string"},
            "avatar_urls": {"type": "object"},
            "email": {"type": "string", "format": "email"},
            "_links": {"type": "object"},
        },
        "required": ["id", "name", "slug", "link"],
    }


def _signed_in(user) -> bool:
    return user.is_authenticated


def register_routes() -> None:
    args = schemas.collection_args(
        orderby=[
            "id",
            "include",
            "name",
            "registered_date",
            "slug",
            "include_slugs",
            "email",
            "url",
        ],
        default_orderby="name",
        order="asc",
    )
    args["slug"] = {
        "description": "Limit result set to users with one or more specific slugs.",
        "type": "array",
        "items": {"type": "string"},
    }
    args["who"] = {
        "description": "Limit result set to users who are considered authors.",
        "type": "string",
        "enum": ["authors"],
    }
    item = {
        "id": {"description": "Unique identifier for the user.", "type": "integer"},
        "context": schemas.CONTEXT,
    }
    register(Route("/wp/v2/users", "wp/v2", [Endpoint(READ, _list, args)], schema=user_schema))
    register(
        Route(
            r"/wp/v2/users/(?P<id>[\d]+)", "wp/v2", [Endpoint(READ, _one, item)], schema=user_schema
        )
    )
    register(
        Route(
            "/wp/v2/users/me",
            "wp/v2",
            [Endpoint(READ, _me, {"context": schemas.CONTEXT}, permitted=_signed_in)],
            schema=user_schema,
            answers="item",
        )
    )
