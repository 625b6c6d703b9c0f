"""/wp/v2/media: images through the media library's upload pipeline and its limits.

An upload is a multipart field `file`, or the raw bytes as the body with
`Content-Disposition: attachment; filename=...` (how the WordPress apps and
node-wpapi's callers often send it). Strangers see the images that public posts show;
authors and editors see the library as the admin shows it to them.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q

from blog.models import Post
from media_library import services as media
from media_library.models import MediaItem
from wordpress.api import schemas
from wordpress.api.errors import WPError, forbidden
from wordpress.api.posts import paginate
from wordpress.api.routing import CREATE, DELETE, EDIT, READ, Call, Endpoint, Reply, Route, register
from wordpress.api.shapes import media_shape
from wordpress.api.views import RAW_BODY_TYPES, validation_error

_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?["']?([^"';]+)""", re.I)


def _visible(user):
    public_posts = Post.objects.published().filter(password="")
    shown = Q(featured_in__in=public_posts) | Q(posts__in=public_posts)
    if user.is_authenticated and user.has_perm("media_library.view_mediaitem"):
        return MediaItem.objects.filter(
            Q(pk__in=MediaItem.objects.usable_by(user).values("pk")) | shown
        )
    return MediaItem.objects.filter(shown)


def _first_posts(items) -> dict[int, int]:
    through = Post.media_items.through.objects.filter(mediaitem_id__in=[i.pk for i in items])
    found: dict[int, int] = {}
    for media_id, post_id in through.order_by("post_id").values_list("mediaitem_id", "post_id"):
        found.setdefault(media_id, post_id)
    return found


def _list(call: Call) -> Reply:
    args = call.args
    qs = _visible(call.user).distinct()
    if args.get("search"):
        qs = qs.filter(Q(title__icontains=args["search"]) | Q(alt_text__icontains=args["search"]))
    for name, lookup in (
        ("include", "pk__in"),
        ("author", "uploaded_by_id__in"),
        ("parent", "posts__in"),
    ):
        if args.get(name):
            qs = qs.filter(**{lookup: args[name]})
    if args.get("exclude"):
        qs = qs.exclude(pk__in=args["exclude"])
    if args.get("mime_type"):
        qs = qs.filter(mime_type=args["mime_type"])
    sign = "-" if args["order"] == "desc" else ""
    column = {"id": "id", "title": "title"}.get(args["orderby"], "created_at")
    rows, headers = paginate(call, qs.order_by(f"{sign}{column}", f"{sign}id"), route="wp/v2/media")
    parents = _first_posts(rows)
    context = call.context
    return Reply(
        [media_shape(i, call, context=context, post_id=parents.get(i.pk)) for i in rows],
        headers=headers,
    )


def _get(call: Call) -> MediaItem:
    item = _visible(call.user).filter(pk=call.args["id"]).first()
    if item is None:
        raise WPError("rest_post_invalid_id", "Invalid post ID.", 404)
    return item


def _one(call: Call) -> Reply:
    item = _get(call)
    context = call.context
    if context == "edit" and not media.media_can_edit(user=call.user, item=item):
        raise forbidden(
            call.user, "rest_forbidden_context", "Sorry, you are not allowed to edit this post."
        )
    return Reply(
        media_shape(item, call, context=context, post_id=_first_posts([item]).get(item.pk))
    )


def _uploaded_file(call: Call):
    request = call.request
    if (request.content_type or "").startswith(RAW_BODY_TYPES):
        disposition = request.META.get("HTTP_CONTENT_DISPOSITION", "")
        if not disposition:
            raise WPError(
                "rest_upload_no_content_disposition", "No Content-Disposition supplied.", 400
            )
        match = _FILENAME.search(disposition)
        if not match:
            raise WPError(
                "rest_upload_invalid_disposition",
                "Invalid Content-Disposition supplied. Content-Disposition needs to be "
                'formatted as `attachment; filename="image.png"` or similar.',
                400,
            )
        limit = settings.MEDIA_MAX_BYTES
        data = request._request.read(limit + 1)
        if not data:
            raise WPError("rest_upload_no_data", "No data supplied.", 400)
        if len(data) > limit:
            raise WPError(
                "rest_upload_file_too_big", f"The file is larger than {limit / 1e6:g} MB.", 400
            )
        return SimpleUploadedFile(unquote(match.group(1)).rsplit("/", 1)[-1], data)
    upload = request.FILES.get("file")
    if upload is None:
        raise WPError("rest_upload_no_data", "No data supplied.", 400)
    return upload


def _text(value) -> str:
    if isinstance(value, dict):
        value = value.get("raw", "")
    return value if isinstance(value, str) else ""


def _create(call: Call) -> Reply:
    if not media.media_can_add(user=call.user):
        raise forbidden(
            call.user,
            "rest_cannot_create",
            "Sorry, you are not allowed to upload media on this site.",
        )
    upload = _uploaded_file(call)
    args = call.args
    try:
        item, _ = media.media_upload(
            file=upload,
            by=call.user,
            title=_text(args.get("title")),
            alt_text=args.get("alt_text") or "",
            caption=_text(args.get("caption")),
        )
    except ValidationError as exc:
        raise WPError("rest_upload_sideload_error", " ".join(exc.messages), 400) from None
    except media.UploadsBusy as exc:
        retry = {"Retry-After": str(exc.retry_after)}
        raise WPError("rest_upload_busy", str(exc), 503, headers=retry) from None
    location = call.link(f"wp/v2/media/{item.pk}")
    return Reply(
        media_shape(item, call, context="edit"), status=201, headers={"Location": location}
    )


def _update(call: Call) -> Reply:
    item, args = _get(call), call.args
    try:
        media.media_update(
            item=item,
            by=call.user,
            title=_text(args["title"]) if "title" in args else item.title,
            alt_text=args.get("alt_text", item.alt_text),
            caption=_text(args["caption"]) if "caption" in args else item.caption,
        )
    except PermissionDenied as exc:
        raise forbidden(call.user, "rest_cannot_edit", str(exc)) from None
    except ValidationError as exc:
        raise validation_error(exc) from None
    return Reply(media_shape(item, call, context="edit"))


def _delete(call: Call) -> Reply:
    item = _get(call)
    if not call.args["force"]:
        raise WPError(
            "rest_trash_not_supported",
            "The post does not support trashing. Set 'force' to true to delete.",
            501,
        )
    previous = media_shape(item, call, context="edit")
    try:
        media.media_delete(item=item, by=call.user)
    except PermissionDenied as exc:
        raise forbidden(call.user, "rest_cannot_delete", str(exc)) from None
    return Reply({"deleted": True, "previous": previous})


def media_schema() -> dict:
    return {
        "title": "attachment",
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "date": {"type": ["string", "null"], "format": "date-time"},
            "slug": {"type": "string"},
            "type": {"type": "string", "enum": ["attachment"]},
            "title": {"type": "object", "properties": {"rendered": {"type": "string"}}},
            "alt_text": {"type": "string"},
            "media_type": {"type": "string", "enum": ["image", "file"]},
            "mime_type": {"type": "string"},
            "media_details": {"type": "object"},
            "post": {"type": ["integer", "null"]},
            "source_url": {"type": "string", "format": "uri"},
            "_links": {"type": "object"},
        },
        "required": ["id", "source_url", "media_details"],
    }


def register_routes() -> None:
    args = schemas.collection_args(
        orderby=[
            "author",
            "date",
            "id",
            "include",
            "modified",
            "parent",
            "relevance",
            "slug",
            "title",
        ],
        default_orderby="date",
    )
    args.update(
        {
            "author": {
                "description": "Limit result set to posts assigned to specific authors.",
                "type": "array",
                "items": {"type": "integer"},
                "default": [],
            },
            "parent": {
                "description": "Limit result set to items with particular parent IDs.",
                "type": "array",
                "items": {"type": "integer"},
                "default": [],
            },
            "media_type": {
                "description": "Limit result set to attachments of a particular media type.",
                "type": "string",
                "enum": ["image", "video", "text", "application", "audio"],
            },
            "mime_type": {
                "description": "Limit result set to attachments of a particular MIME type.",
                "type": "string",
            },
        }
    )
    write = {
        "title": {"description": "The title for the post.", "type": ["string", "object"]},
        "alt_text": {
            "description": "Alternative text to display when attachment is not displayed.",
            "type": "string",
        },
        "caption": {"description": "The attachment caption.", "type": ["string", "object"]},
        "description": {
            "description": "The attachment description (accepted, not stored).",
            "type": ["string", "object"],
        },
        "post": {
            "description": "The ID for the associated post of the attachment (accepted, not used).",
            "type": "integer",
        },
    }
    item = {
        "id": {"description": "Unique identifier for the post.", "type": "integer"},
        "context": schemas.CONTEXT,
    }
    register(
        Route(
            "/wp/v2/media",
            "wp/v2",
            [Endpoint(READ, _list, args), Endpoint(CREATE, _create, write)],
            schema=media_schema,
        )
    )
    register(
        Route(
            r"/wp/v2/media/(?P<id>[\d]+)",
            "wp/v2",
            [
                Endpoint(READ, _one, item),
                Endpoint(EDIT, _update, {**write, "id": item["id"]}, strict_body=True),
                Endpoint(DELETE, _delete, schemas.delete_args("post")),
            ],
            schema=media_schema,
        )
    )
