"""/wp/v2/categories and /wp/v2/tags: read, and written through category_save/tag_save."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.utils import timezone

from blog import services
from blog.models import Category, Post, Tag
from wordpress.api import schemas
from wordpress.api.errors import WPError, forbidden
from wordpress.api.posts import paginate
from wordpress.api.routing import CREATE, DELETE, EDIT, READ, Call, Endpoint, Reply, Route, register
from wordpress.api.shapes import term_shape
from wordpress.api.views import validation_error

_ORDER = {"id": "id", "name": "name", "slug": "slug", "description": "description", "count": "n"}


def _counted(model):
    now = timezone.now()
    public = Q(
        posts__kind=Post.Kind.POST,
        posts__status__in=[Post.Status.PUBLISHED, Post.Status.FUTURE],
        posts__published_at__lte=now,
    )
    return model.objects.annotate(n=Count("posts", filter=public, distinct=True))


def _list(model, rest: str):
    def handler(call: Call) -> Reply:
        args = call.args
        qs = _counted(model)
        if args.get("search"):
            qs = qs.filter(Q(name__icontains=args["search"]) | Q(slug__icontains=args["search"]))
        for name, lookup in (("include", "pk__in"), ("slug", "slug__in"), ("post", "posts")):
            if args.get(name):
                qs = qs.filter(**{lookup: args[name]})
        if args.get("exclude"):
            qs = qs.exclude(pk__in=args["exclude"])
        if args.get("hide_empty"):
            qs = qs.filter(n__gt=0)
        if model is Category and args.get("parent") is not None:
            parent = args["parent"]
            qs = qs.filter(parent_id=parent) if parent else qs.filter(parent__isnull=True)
        column = _ORDER.get(args["orderby"], "name")
        sign = "-" if args["order"] == "desc" else ""
        rows, headers = paginate(call, qs.order_by(f"{sign}{column}", "id"), route=f"wp/v2/{rest}")
        context = call.context
        return Reply(
            [term_shape(t, call, context=context, count=t.n) for t in rows], headers=headers
        )

    return handler


def _get(model, call: Call):
    term = _counted(model).filter(pk=call.args["id"]).first()
    if term is None:
        raise WPError("rest_term_invalid", "Term does not exist.", 404)
    return term


def _one(model):
    def handler(call: Call) -> Reply:
        term = _get(model, call)
        return Reply(term_shape(term, call, context=call.context, count=term.n))

    return handler


def _save(model, call: Call, term, *, created: bool) -> Reply:
    args = call.args
    for name in ("name", "slug", "description"):
        if name in args:
            setattr(term, name, args[name])
    if not term.slug and term.name:
        from django.utils.text import slugify

        term.slug = slugify(term.name, allow_unicode=True)[:200]
    if model is Category and "parent" in args:
        term.parent = Category.objects.filter(pk=args["parent"]).first() if args["parent"] else None
        if args["parent"] and term.parent is None:
            raise WPError("rest_term_invalid", "Parent term does not exist.", 400)
    if created and model.objects.filter(Q(slug=term.slug) | Q(name__iexact=term.name)).exists():
        raise WPError("term_exists", "A term with the name provided already exists.", 400)
    try:
        if model is Category:
            services.category_save(category=term, by=call.user)
        else:
            services.tag_save(tag=term, by=call.user)
    except PermissionDenied as exc:
        code = "rest_cannot_create" if created else "rest_cannot_update"
        raise forbidden(call.user, code, str(exc)) from None
    except ValidationError as exc:
        raise validation_error(exc) from None
    term = _counted(model).get(pk=term.pk)
    reply = Reply(
        term_shape(term, call, context="edit", count=term.n), status=201 if created else 200
    )
    if created:
        reply.headers["Location"] = term_shape(term, call)["_links"]["self"][0]["href"]
    return reply


def _create(model):
    def handler(call: Call) -> Reply:
        if not call.user.is_authenticated:
            raise forbidden(
                call.user,
                "rest_cannot_create",
                "Sorry, you are not allowed to create terms in this taxonomy.",
            )
        return _save(model, call, model(), created=True)

    return handler


def _update(model):
    def handler(call: Call) -> Reply:
        term = _get(model, call)
        if not call.user.is_authenticated:
            raise forbidden(
                call.user, "rest_cannot_update", "Sorry, you are not allowed to edit this term."
            )
        return _save(model, call, term, created=False)

    return handler


def _delete(model):
    def handler(call: Call) -> Reply:
        term = _get(model, call)
        if not call.args["force"]:
            raise WPError(
                "rest_trash_not_supported",
                "Terms do not support trashing. Set 'force' to true to delete.",
                501,
            )
        previous = term_shape(term, call, context="edit", count=term.n)
        try:
            if model is Category:
                services.category_delete(categories=[term], by=call.user)
            else:
                services.tag_delete(tags=[term], by=call.user)
        except PermissionDenied as exc:
            raise forbidden(call.user, "rest_cannot_delete", str(exc)) from None
        return Reply({"deleted": True, "previous": previous})

    return handler


def _args(model) -> dict:
    args = schemas.collection_args(
        orderby=[
            "id",
            "include",
            "name",
            "slug",
            "include_slugs",
            "term_group",
            "description",
            "count",
        ],
        default_orderby="name",
        order="asc",
    )
    args["hide_empty"] = {
        "description": "Whether to hide terms not assigned to any posts.",
        "type": "boolean",
        "default": False,
    }
    args["post"] = {
        "description": "Limit result set to terms assigned to a specific post.",
        "type": "integer",
    }
    args["slug"] = {
        "description": "Limit result set to terms with one or more specific slugs.",
        "type": "array",
        "items": {"type": "string"},
    }
    if model is Category:
        args["parent"] = {
            "description": "Limit result set to terms assigned to a specific parent.",
            "type": "integer",
        }
    return args


def _write_args(model, *, create: bool) -> dict:
    args = {
        "description": {"description": "HTML description of the term.", "type": "string"},
        "name": {"description": "HTML title for the term.", "type": "string", "required": create},
        "slug": {
            "description": "An alphanumeric identifier for the term unique to its type.",
            "type": "string",
        },
        "meta": {"description": "Meta fields (none are registered).", "type": ["object", "array"]},
    }
    if model is Category:
        args["parent"] = {"description": "The parent term ID.", "type": "integer"}
    if not create:
        args["id"] = {"description": "Unique identifier for the term.", "type": "integer"}
    return args


def term_schema(taxonomy: str) -> dict:
    properties = {
        "id": {"type": "integer"},
        "count": {"type": "integer"},
        "description": {"type": "string"},
        "link": {"type": "string", "format": "uri"},
        "name": {"type": "string"},
        "slug": {"type": "string"},
        "taxonomy": {"type": "string", "enum": [taxonomy]},
        "meta": {"type": ["object", "array"]},
        "_links": {"type": "object"},
    }
    if taxonomy == "category":
        properties["parent"] = {"type": "integer"}
    return {
        "title": taxonomy,
        "type": "object",
        "properties": properties,
        "required": ["id", "name", "slug", "taxonomy"],
    }


def register_routes() -> None:
    for model, rest, taxonomy in ((Category, "categories", "category"), (Tag, "tags", "post_tag")):
        schema = lambda taxonomy=taxonomy: term_schema(taxonomy)  # noqa: E731
        item_args = {
            "id": {"description": "Unique identifier for the term.", "type": "integer"},
            "context": schemas.CONTEXT,
        }
        register(
            Route(
                f"/wp/v2/{rest}",
                "wp/v2",
                [
                    Endpoint(READ, _list(model, rest), _args(model)),
                    Endpoint(
                        CREATE, _create(model), _write_args(model, create=True), strict_body=True
                    ),
                ],
                schema=schema,
            )
        )
        register(
            Route(
                rf"/wp/v2/{rest}/(?P<id>[\d]+)",
                "wp/v2",
                [
                    Endpoint(READ, _one(model), item_args),
                    Endpoint(
                        EDIT, _update(model), _write_args(model, create=False), strict_body=True
                    ),
                    Endpoint(DELETE, _delete(model), schemas.delete_args("term")),
                ],
                schema=schema,
            )
        )
