"""/wp/v2/comments: approved comments on public posts for everyone, the moderation queue
for moderators; comments are written through comment_submit, comment_update,
comment_set_status and comment_delete, so the site's moderation rules hold."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from blog import services
from blog.models import Comment, Post
from webtier.request import client_ip
from wordpress.api import schemas
from wordpress.api.errors import WPError, forbidden
from wordpress.api.posts import paginate
from wordpress.api.routing import CREATE, DELETE, EDIT, READ, Call, Endpoint, Reply, Route, register
from wordpress.api.shapes import comment_shape
from wordpress.api.views import validation_error

_STATUS_IN = {
    "approve": Comment.Status.APPROVED,
    "approved": Comment.Status.APPROVED,
    "hold": Comment.Status.PENDING,
    "spam": Comment.Status.SPAM,
    "trash": Comment.Status.TRASH,
}


def _moderator(user) -> bool:
    return user.is_authenticated and user.has_perm("blog.moderate_comments")


def _list(call: Call) -> Reply:
    args, user = call.args, call.user
    moderator = _moderator(user)
    if (args["status"] != "approve" or call.context == "edit") and not moderator:
        raise forbidden(user, "rest_forbidden_param", "Query parameter not permitted: status")
    qs = Comment.objects.select_related("post")
    if args["status"] != "all":
        qs = qs.filter(status=_STATUS_IN[args["status"]])
    if not moderator:
        # Approved comments of posts the caller may read, never of protected posts.
        qs = qs.filter(post__in=Post.objects.readable_by(user), post__password="")
    if args.get("post"):
        qs = qs.filter(post_id__in=args["post"])
    if args.get("parent"):
        top = 0 in args["parent"]
        wanted = [p for p in args["parent"] if p]
        qs = (
            qs.filter(parent_id__in=wanted)
            if not top
            else qs.filter(parent__isnull=True) | qs.filter(parent_id__in=wanted)
        )
    if args.get("include"):
        qs = qs.filter(pk__in=args["include"])
    if args.get("exclude"):
        qs = qs.exclude(pk__in=args["exclude"])
    if args.get("search"):
        qs = qs.filter(body__icontains=args["search"])
    sign = "-" if args["order"] == "desc" else ""
    column = {
        "date": "created_at",
        "date_gmt": "created_at",
        "id": "id",
        "post": "post_id",
        "parent": "parent_id",
    }.get(args["orderby"], "created_at")
    rows, headers = paginate(
        call, qs.order_by(f"{sign}{column}", f"{sign}id"), route="wp/v2/comments"
    )
    return Reply([comment_shape(c, call, context=call.context) for c in rows], headers=headers)


def _get(call: Call) -> Comment:
    comment = Comment.objects.select_related("post").filter(pk=call.args["id"]).first()
    if comment is None:
        raise WPError("rest_comment_invalid_id", "Invalid comment ID.", 404)
    return comment


def _one(call: Call) -> Reply:
    comment = _get(call)
    if not _moderator(call.user):
        post = comment.post
        if (
            comment.status != Comment.Status.APPROVED
            or post.password
            or not services.post_can_read(user=call.user, post=post)
        ):
            raise forbidden(
                call.user, "rest_cannot_read", "Sorry, you are not allowed to read this comment."
            )
        if call.context == "edit":
            raise forbidden(
                call.user, "rest_forbidden_context", "Sorry, you are not allowed to edit comments."
            )
    return Reply(comment_shape(comment, call, context=call.context))


def _create(call: Call) -> Reply:
    args, user = call.args, call.user
    if not user.is_authenticated:
        raise WPError(
            "rest_comment_login_required", "Sorry, you must be logged in to comment.", 401
        )
    post = Post.objects.filter(pk=args.get("post") or 0).first()
    if post is None or not services.post_can_read(user=user, post=post):
        raise WPError(
            "rest_comment_invalid_post_id",
            "Sorry, you are not allowed to create this comment without a post.",
            403,
        )
    content = args.get("content")
    body = content.get("raw", "") if isinstance(content, dict) else (content or "")
    if not body.strip():
        raise WPError("rest_comment_content_invalid", "Invalid comment content.", 400)
    try:
        comment = services.comment_submit(
            post=post,
            body=body,
            parent_id=args.get("parent") or None,
            user=user,
            ip=client_ip(call.request._request),
            user_agent=call.request.META.get("HTTP_USER_AGENT", ""),
        )
        wanted = args.get("status")
        if wanted and _moderator(user) and _STATUS_IN.get(wanted, wanted) != comment.status:
            services.comment_set_status(
                comments=[comment], status=_STATUS_IN.get(wanted, wanted), by=user
            )
            comment.refresh_from_db()
    except ValidationError as exc:
        raise validation_error(exc) from None
    location = call.link(f"wp/v2/comments/{comment.pk}")
    comment = Comment.objects.select_related("post").get(pk=comment.pk)
    return Reply(
        comment_shape(comment, call, context="edit"), status=201, headers={"Location": location}
    )


def _update(call: Call) -> Reply:
    comment, args = _get(call), call.args
    content = args.get("content")
    if content is not None:
        comment.body = content.get("raw", comment.body) if isinstance(content, dict) else content
    for name, attr in (
        ("author_name", "author_name"),
        ("author_email", "author_email"),
        ("author_url", "author_url"),
    ):
        if name in args:
            setattr(comment, attr, args[name])
    status = _STATUS_IN.get(args["status"], args["status"]) if args.get("status") else None
    try:
        services.comment_update(comment=comment, by=call.user, status=status)
    except PermissionDenied as exc:
        raise forbidden(call.user, "rest_cannot_edit", str(exc)) from None
    except ValidationError as exc:
        raise validation_error(exc) from None
    comment = Comment.objects.select_related("post").get(pk=comment.pk)
    return Reply(comment_shape(comment, call, context="edit"))


def _delete(call: Call) -> Reply:
    comment = _get(call)
    if not _moderator(call.user):
        raise forbidden(
            call.user, "rest_cannot_delete", "Sorry, you are not allowed to delete this comment."
        )
    previous = comment_shape(comment, call, context="edit")
    if call.args["force"]:
        services.comment_delete(comments=[comment], by=call.user)
        return Reply({"deleted": True, "previous": previous})
    if comment.status == Comment.Status.TRASH:
        raise WPError("rest_already_trashed", "The comment has already been trashed.", 410)
    services.comment_set_status(comments=[comment], status=Comment.Status.TRASH, by=call.user)
    comment = Comment.objects.select_related("post").get(pk=comment.pk)
    return Reply(comment_shape(comment, call, context="edit"))


_INT_LIST = {"type": "array", "items": {"type": "integer"}, "default": []}


def comment_schema() -> dict:
    return {
        "title": "comment",
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "post": {"type": "integer"},
            "parent": {"type": "integer"},
            "author": {"type": "integer"},
            "author_name": {"type": "string"},
            "date": {"type": "string", "format": "date-time"},
            "content": {"type": "object", "properties": {"rendered": {"type": "string"}}},
            "status": {"type": "string"},
            "type": {"type": "string"},
            "_links": {"type": "object"},
        },
        # What every context shows: `post` is not in `embed`, as in WordPress.
        "required": ["id", "content"],
    }


def register_routes() -> None:
    args = schemas.collection_args(
        orderby=["date", "date_gmt", "id", "include", "post", "parent", "type"],
        default_orderby="date_gmt",
    )
    args.update(
        {
            "post": {
                **_INT_LIST,
                "description": "Limit result set to comments assigned to specific post IDs.",
            },
            "parent": {
                **_INT_LIST,
                "description": "Limit result set to comments of specific parent IDs.",
            },
            "status": {
                "description": "Limit result set to comments assigned a specific status.",
                "type": "string",
                "default": "approve",
                "enum": ["approve", "approved", "hold", "spam", "trash", "all"],
            },
            "type": {
                "description": "Limit result set to comments assigned a specific type.",
                "type": "string",
                "default": "comment",
            },
            "password": {
                "description": "The password for the post if it is password protected.",
                "type": "string",
            },
        }
    )
    write = {
        "post": {"description": "The ID of the associated post object.", "type": "integer"},
        "parent": {"description": "The ID for the parent of the comment.", "type": "integer"},
        "content": {"description": "The content for the comment.", "type": ["string", "object"]},
        "author_name": {"description": "Display name for the comment author.", "type": "string"},
        "author_email": {"description": "Email address for the comment author.", "type": "string"},
        "author_url": {"description": "URL for the comment author.", "type": "string"},
        "status": {
            "description": "State of the comment.",
            "type": "string",
            "enum": ["approve", "approved", "hold", "spam", "trash"],
        },
        "meta": {"description": "Meta fields (none are registered).", "type": ["object", "array"]},
    }
    item = {
        "id": {"description": "Unique identifier for the comment.", "type": "integer"},
        "context": schemas.CONTEXT,
    }
    register(
        Route(
            "/wp/v2/comments",
            "wp/v2",
            [Endpoint(READ, _list, args), Endpoint(CREATE, _create, write, strict_body=True)],
            schema=comment_schema,
        )
    )
    register(
        Route(
            r"/wp/v2/comments/(?P<id>[\d]+)",
            "wp/v2",
            [
                Endpoint(READ, _one, item),
                Endpoint(EDIT, _update, {**write, "id": item["id"]}, strict_body=True),
                Endpoint(DELETE, _delete, schemas.delete_args("comment")),
            ],
            schema=comment_schema,
        )
    )
