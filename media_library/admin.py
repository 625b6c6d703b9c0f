"""The media library in the admin: upload, thumbnails, alt text, "used in", and a JSON upload.

Writes go through media_library/services.py, so the admin and the JSON endpoint meet the
same rules: authors see and edit their own uploads, editors everyone's.

`POST /admin/media_library/mediaitem/upload/` (multipart field `file`, optional `title`,
`alt_text`, `caption`) answers JSON: `{"id", "created", "markdown", "url", ...}` with
201 for a new item, 200 when the same image was already in the uploader's library,
a 4xx with `{"error": "..."}` for anything refused, and a 503 with `Retry-After` when
the instance is already processing MEDIA_UPLOAD_SLOTS images. `GET .../chooser/` lists
the library for the editor's chooser (media_library/chooser.py); `POST .../<id>/alt-text/`
keeps the alt text the chooser asked for.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import JsonResponse
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_GET, require_POST

from media_library import services as media_services
from media_library.chooser import chooser_page, markdown_snippet
from media_library.models import MediaItem


def _upload_json(item: MediaItem, created: bool) -> dict:
    return {
        "id": item.pk,
        "created": created,
        "markdown": markdown_snippet(item),
        "url": item.get_absolute_url(),
        "alt_text_url": reverse("admin:media_library_mediaitem_alt_text", args=[item.pk]),
        "title": item.title,
        "alt_text": item.alt_text,
        "mime_type": item.mime_type,
        "width": item.width,
        "height": item.height,
        "bytes": item.byte_size,
        "status": item.status,
    }


class MediaUploadForm(forms.ModelForm):
    """The add form: the file goes straight to the upload service."""

    upload = forms.FileField(
        label="Image", help_text="JPEG, PNG, GIF or WebP. Metadata (EXIF, GPS) is removed."
    )
    user = None

    class Meta:
        model = MediaItem
        fields = ("upload", "title", "alt_text", "caption")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            item, created = media_services.media_upload(
                file=cleaned["upload"],
                by=self.user,
                title=cleaned.get("title", ""),
                alt_text=cleaned.get("alt_text", ""),
                caption=cleaned.get("caption", ""),
            )
        except ValidationError as exc:
            self.add_error("upload", exc)
        except media_services.UploadsBusy as exc:
            self.add_error("upload", str(exc))
        except PermissionDenied as exc:
            self.add_error(None, str(exc) or "You may not upload media.")
        else:
            self.instance, self.created = item, created
        return cleaned

    def _post_clean(self):
        # The service has saved the item; the form must not copy its fields over it.
        if getattr(self, "created", None) is None:
            super()._post_clean()


# Files that are not images show as a symbol of their kind (no thumbnail: nothing of
# their content is rendered in the admin).
_FILE_ICONS = {"document": "📄", "audio": "🎵", "video": "🎬", "archive": "🗜"}


def _file_icon(item: MediaItem):
    return format_html(
        '<span class="media-file-icon media-file-{}" role="img" aria-label="{}" '
        'style="font-size:40px;line-height:60px">{}</span>',
        item.kind, item.get_kind_display(), _FILE_ICONS.get(item.kind, "📄"),
    )  # fmt: skip


@admin.register(MediaItem)
class MediaItemAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ("desk/lists.css",)}

    # Short columns, so the list fits 1280 px beside the admin's menu; the type and the
    # bytes are on the item's page and in the filters.
    list_display = (
        "thumbnail", "title", "alt_text", "dimensions", "uploaded_by", "uploaded", "status",
        "used_in_count",
    )  # fmt: skip
    list_display_links = ("thumbnail", "title")
    list_editable = ("alt_text",)
    list_select_related = ("uploaded_by",)
    search_fields = ("title", "alt_text", "caption")
    date_hierarchy = "created_at"
    list_per_page = 50
    fields = (
        "preview", "title", "alt_text", "caption", "snippet", "mime_type", "dimensions", "size",
        "status", "status_detail", "store", "uploaded_by", "created_at", "used_in",
    )  # fmt: skip
    readonly_fields = (
        "preview", "snippet", "mime_type", "dimensions", "size", "status", "status_detail",
        "store", "uploaded_by", "created_at", "used_in",
    )  # fmt: skip

    # Which items: authors their own, editors all.
    def get_queryset(self, request):
        return (
            MediaItem.objects.usable_by(request.user)
            .select_related("uploaded_by")
            .annotate(used_in_total=Count("posts", distinct=True))
        )

    def get_list_filter(self, request):
        by_uploader = ("uploaded_by",) if request.user.has_perm("blog.edit_others_posts") else ()
        return (
            *by_uploader, ("created_at", admin.DateFieldListFilter), "kind", "status", "mime_type",
        )  # fmt: skip

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return super().has_view_permission(request)
        return media_services.media_can_use(user=request.user, item=obj)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request)
        return media_services.media_can_edit(user=request.user, item=obj)

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return super().has_delete_permission(request)
        return media_services.media_can_delete(user=request.user, item=obj)

    # Forms: a file on add, the words on change.
    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MediaUploadForm
            kwargs["fields"] = MediaUploadForm.Meta.fields
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        return form

    def get_fields(self, request, obj=None):
        return MediaUploadForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            if not form.created:
                self.message_user(request, "This image was already in your library.", messages.INFO)
            return
        media_services.media_update(
            item=obj, by=request.user, title=obj.title, alt_text=obj.alt_text, caption=obj.caption
        )

    def delete_model(self, request, obj):
        media_services.media_delete(item=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for item in queryset:
            media_services.media_delete(item=item, by=request.user)

    # The JSON upload endpoint.
    def get_urls(self):
        upload = self.admin_site.admin_view(require_POST(self.upload_view))
        chooser = self.admin_site.admin_view(require_GET(self.chooser_view))
        alt = self.admin_site.admin_view(require_POST(self.alt_text_view))
        return [
            path("upload/", upload, name="media_library_mediaitem_upload"),
            path("chooser/", chooser, name="media_library_mediaitem_chooser"),
            path("<int:object_id>/alt-text/", alt, name="media_library_mediaitem_alt_text"),
            *super().get_urls(),
        ]

    def chooser_view(self, request):
        """GET `q`, `month` (YYYY-MM), `mine`, `page`: the editor's chooser (JSON)."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "You may not use the media library."}, status=403)
        try:
            page = int(request.GET.get("page", "1"))
        except ValueError:
            page = 1
        data = chooser_page(
            user=request.user,
            query=request.GET.get("q", "")[:200],
            month=request.GET.get("month", ""),
            mine=request.GET.get("mine") in ("1", "true", "on"),
            page=page,
        )
        data["can_upload"] = media_services.media_can_add(user=request.user)
        return JsonResponse(data)

    def alt_text_view(self, request, object_id):
        """POST `alt_text`: the chooser keeps the description it asked for on the item, so
        it is asked once. Same rule as the change form: authors only their own items."""
        item = MediaItem.objects.usable_by(request.user).filter(pk=object_id).first()
        if item is None:
            return JsonResponse({"error": "No such media item."}, status=404)
        try:
            item = media_services.media_update(
                item=item,
                by=request.user,
                title=item.title,
                alt_text=request.POST.get("alt_text", ""),
                caption=item.caption,
            )
        except PermissionDenied as exc:
            return JsonResponse({"error": str(exc)}, status=403)
        return JsonResponse({"id": item.pk, "alt_text": item.alt_text})

    def upload_view(self, request):
        file = request.FILES.get("file")
        if file is None:
            return JsonResponse(
                {"error": "Send the image as the multipart form field “file”."}, status=400
            )
        try:
            item, created = media_services.media_upload(
                file=file,
                by=request.user,
                title=request.POST.get("title", ""),
                alt_text=request.POST.get("alt_text", ""),
                caption=request.POST.get("caption", ""),
            )
        except PermissionDenied as exc:
            return JsonResponse({"error": str(exc) or "You may not upload media."}, status=403)
        except ValidationError as exc:
            return JsonResponse({"error": " ".join(exc.messages)}, status=400)
        except media_services.UploadsBusy as exc:
            response = JsonResponse({"error": str(exc)}, status=503)
            response["Retry-After"] = str(exc.retry_after)
            return response
        return JsonResponse(_upload_json(item, created), status=201 if created else 200)

    # Columns and read-only fields.
    @admin.display(description="")
    def thumbnail(self, obj):
        if not obj.is_image:
            return _file_icon(obj)
        entry = obj.rendition("thumbnail") or obj.rendition("full")
        if entry is None:
            return "—"
        return format_html(
            '<img src="{}" alt="" width="60" height="60" style="object-fit:cover" loading="lazy">',
            obj.url(entry["file"]),
        )

    @admin.display(description="Preview")
    def preview(self, obj):
        if not obj.is_image:
            return format_html(
                '{} <a href="{}">{}</a>', _file_icon(obj), obj.get_absolute_url(), obj.file.name
            )
        entry = obj.rendition("medium") or obj.rendition("full")
        if entry is None:
            return "—"
        return format_html(
            '<img src="{}" alt="{}" style="max-width:300px;height:auto">',
            obj.url(entry["file"]),
            obj.alt_text,
        )

    @admin.display(description="Markdown")
    def snippet(self, obj):
        return format_html("<code>{}</code>", markdown_snippet(obj))

    @admin.display(description="Size")
    def dimensions(self, obj):
        return f"{obj.width} x {obj.height}" if obj.width else "—"

    @admin.display(description="Uploaded", ordering="created_at")
    def uploaded(self, obj):
        return date_format(timezone.localtime(obj.created_at), "SHORT_DATE_FORMAT")

    @admin.display(description="Bytes", ordering="byte_size")
    def size(self, obj):
        return filesizeformat(obj.byte_size)

    @admin.display(description="Used in", ordering="used_in_total")
    def used_in_count(self, obj):
        return obj.used_in_total

    @admin.display(description="Used in")
    def used_in(self, obj):
        posts = obj.posts.order_by("-published_at")[:50]
        if not posts:
            return "Not used in any post."
        links = ((reverse(f"admin:blog_{p.kind}_change", args=[p.pk]), p.title) for p in posts)
        return format_html_join(", ", '<a href="{}">{}</a>', links)
