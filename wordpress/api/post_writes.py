"""Creating, editing, trashing and deleting posts and pages, through blog's services.

The services decide (a contributor cannot publish, an author edits only their own); this
module only turns WordPress's fields into a Post and the services' refusals into
WordPress's codes. Terms are set in the same transaction as the post, so a refused
write leaves nothing behind.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from blog import services
from blog.models import Category, Post, Tag
from media_library.models import MediaItem
from wordpress.api.errors import WPError, forbidden, invalid_params
from wordpress.api.post_shapes import shape_posts
from wordpress.api.routing import Call, Reply
from wordpress.api.views import validation_error

_STATUSES = {"publish": Post.Status.PUBLISHED, "future": Post.Status.FUTURE}


def _raw(value) -> str | None:
    """WordPress takes `"title": "x"` and `"title": {"raw": "x"}` alike."""
    if value is None:
        return None
    if isinstance(value, dict):
        raw = value.get("raw")
        if raw is not None and not isinstance(raw, str):
            raise ValueError("is not of type string")
        return raw
    return value


def _apply(post: Post, args: dict, *, creating: bool) -> dict[str, list[int]]:
    """Copy WordPress's fields onto `post`; returns the term ids to set afterwards."""
    errors: dict[str, str] = {}
    for name, attr in (("title", "title"), ("content", "body"), ("excerpt", "excerpt")):
        if name in args:
            try:
                value = _raw(args[name])
            except ValueError as exc:
                errors[name] = f"{name}.raw {exc}."
                continue
            if value is not None:
                setattr(post, attr, value)
    if "content" in args and creating:
        post.body_format = Post.Format.HTML  # WordPress content is HTML
    if "status" in args:
        post.status = _STATUSES.get(args["status"], args["status"])
    date = args.get("date_gmt") or args.get("date")
    if date:
        post.published_at = date
    for name in ("slug", "password", "comment_status"):
        if name in args:
            setattr(post, name, args[name])
    if "author" in args:
        post.author_id = args["author"]
    if "featured_media" in args:
        media_id = args["featured_media"] or None
        if media_id and not MediaItem.objects.filter(pk=media_id).exists():
            errors["featured_media"] = "Invalid featured media ID."
        post.featured_image_id = media_id
    if post.is_page:
        if "parent" in args:
            post.parent = Post.objects.filter(pk=args["parent"]).first() if args["parent"] else None
            if args["parent"] and post.parent is None:
                errors["parent"] = "Invalid post parent ID."
        if "menu_order" in args:
            post.menu_order = args["menu_order"]
    elif "sticky" in args:
        post.sticky = args["sticky"]
    terms = {}
    for name, model in (("categories", Category), ("tags", Tag)):
        if name in args and not post.is_page:
            ids = args[name]
            found = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
            missing = [str(i) for i in ids if i not in found]
            if missing:
                errors[name] = f"Invalid term ID(s): {', '.join(missing)}."
            terms[name] = ids
    if errors:
        raise invalid_params(errors)
    return terms


def _save(call: Call, post: Post, terms: dict, *, refusal: str) -> Post:
    try:
        with transaction.atomic():
            services.post_write(post=post, by=call.user)
            if "categories" in terms:
                post.categories.set(terms["categories"])
            if "tags" in terms:
                post.tags.set(terms["tags"])
    except PermissionDenied as exc:
        raise forbidden(call.user, refusal, str(exc)) from None
    except ValidationError as exc:
        raise validation_error(exc) from None
    return post


def _edit_reply(call: Call, post: Post, status: int = 200, headers: dict | None = None) -> Reply:
    fresh = Post.objects.select_related("author", "featured_image").get(pk=post.pk)
    call.args["context"] = "edit"
    return Reply(shape_posts([fresh], call, set())[0], status=status, headers=headers or {})


def create_handler(kind: str):
    rest = "pages" if kind == Post.Kind.PAGE else "posts"

    def handler(call: Call) -> Reply:
        user = call.user
        if not user.is_authenticated or not services.post_can_create(user=user, kind=kind):
            raise forbidden(
                user,
                "rest_cannot_create",
                f"Sorry, you are not allowed to create {rest} as this user.",
            )
        if call.args.get("id"):
            raise WPError("rest_post_exists", "Cannot create existing post.", 400)
        post = Post(kind=kind, author=user, status=Post.Status.DRAFT, body_format=Post.Format.HTML)
        terms = _apply(post, call.args, creating=True)
        _save(call, post, terms, refusal="rest_cannot_create")
        location = call.link(f"wp/v2/{rest}/{post.pk}")
        return _edit_reply(call, post, status=201, headers={"Location": location})

    return handler


def _stored(call: Call, kind: str, *, may, action: str) -> Post:
    """The post of the URL, if `may(user=, post=)` lets the caller `action` it."""
    post = Post.objects.filter(kind=kind, pk=call.args["id"]).first()
    if post is None:
        raise WPError("rest_post_invalid_id", "Invalid post ID.", 404)
    if not may(user=call.user, post=post):
        message = f"Sorry, you are not allowed to {action} this post."
        raise forbidden(call.user, f"rest_cannot_{action}", message)
    return post


def update_handler(kind: str):
    def handler(call: Call) -> Reply:
        post = _stored(call, kind, may=services.post_can_edit, action="edit")
        if post.status == Post.Status.TRASH and call.args.get("status") is None:
            raise WPError(
                "rest_cannot_edit", "Restore the post from the trash before editing it.", 400
            )
        terms = _apply(post, call.args, creating=False)
        _save(call, post, terms, refusal="rest_cannot_edit")
        return _edit_reply(call, post)

    return handler


def delete_handler(kind: str):
    def handler(call: Call) -> Reply:
        post = _stored(call, kind, may=services.post_can_delete, action="delete")
        call.args["context"] = "edit"
        previous = shape_posts([post], call, set())[0]
        if call.args["force"]:
            try:
                services.post_delete(post=post, by=call.user)
            except PermissionDenied as exc:
                raise forbidden(call.user, "rest_cannot_delete", str(exc)) from None
            return Reply({"deleted": True, "previous": previous})
        if post.status == Post.Status.TRASH:
            raise WPError("rest_already_trashed", "The post has already been deleted.", 410)
        services.post_trash(post=post, by=call.user)
        return _edit_reply(call, post)

    return handler
