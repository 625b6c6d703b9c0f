"""The writer's desk on the post and page forms: the Markdown editor, its live preview,
the featured image picked from the library, and "Publish immediately / Schedule for".

The editor is EasyMDE (vendored, scripts/vendor_static.py); the browser side is
static/desk/*.js, loaded by templates/admin/blog/post/change_form.html as ES modules.
Widgets only render markup with data attributes: every behaviour is in those modules,
so the forms work (as plain fields) without JavaScript.

The preview is rendered by the code that renders the public page: render_post_body
(the writer's sanitizer) and media_expand, so what the preview shows is what readers get.
"""

from __future__ import annotations

from django import forms
from django.contrib.admin.widgets import AdminTextareaWidget
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from blog.models import Post
from blog.rendering import render_post_body
from media_library.chooser import thumbnail_url
from media_library.models import MediaItem
from media_library.render import media_expand, media_ids_in
from media_library.services import media_can_add, media_unusable

PREVIEW_MAX_CHARS = 500_000
VENDOR_CSS = (
    "vendor/easymde-2.21.0/dist/easymde.min.css",
    "vendor/fork-awesome-1.2.0/css/fork-awesome.min.css",
    "css/entry.css",  # the public theme's typography, for the preview
    "desk/desk.css",
)


def media_urls(user) -> dict[str, str]:
    """What the editor's modules need to reach the library, as data attributes."""
    can_use = user.has_perm("media_library.view_mediaitem")
    return {
        "data-chooser-url": reverse("admin:media_library_mediaitem_chooser") if can_use else "",
        "data-upload-url": (
            reverse("admin:media_library_mediaitem_upload") if media_can_add(user=user) else ""
        ),
    }


class MarkdownEditorWidget(AdminTextareaWidget):
    """A textarea that static/desk/editor.js turns into EasyMDE with a server preview."""

    class Media:
        css = {"all": VENDOR_CSS}

    def __init__(self, *, preview_url: str, user, attrs=None):
        attrs = {
            "rows": 20,
            "data-markdown-editor": "",
            "data-preview-url": preview_url,
            **media_urls(user),
            **(attrs or {}),
        }
        super().__init__(attrs=attrs)


class FeaturedImageWidget(forms.Widget):
    """The featured image as a thumbnail with "Choose…" and "Remove" (static/desk/featured.js).

    The value is the item's id in a hidden input, so without JavaScript the form still
    posts what it showed. Rendered here rather than from a template: the form renderer
    only reads apps' template folders, and the theme's live in templates/.
    """

    def __init__(self, *, user, attrs=None):
        super().__init__(attrs=attrs)
        self.user = user

    def render(self, name, value, attrs=None, renderer=None):
        item = MediaItem.objects.filter(pk=value).first() if value not in (None, "") else None
        urls = media_urls(self.user)
        field_id = (attrs or {}).get("id") or f"id_{name}"
        thumb = thumbnail_url(item)
        image = format_html(
            '<img src="{}" alt="{}" width="150" height="150">', thumb, item.alt_text if item else ""
        )
        caption = str(item) if item else "No featured image."
        buttons = ""
        if urls["data-chooser-url"]:
            buttons = format_html(
                '<button type="button" class="button" data-featured-choose>{}</button> '
                '<button type="button" class="button" data-featured-remove{}>Remove</button>',
                "Replace…" if item else "Choose an image…",
                "" if item else mark_safe(" hidden"),
            )
        return format_html(
            '<div class="desk-featured" data-featured-image data-chooser-url="{}" '
            'data-upload-url="{}"><input type="hidden" name="{}" id="{}" value="{}">'
            '<figure class="desk-featured-preview"{}>{}<figcaption>{}</figcaption></figure>'
            '<p class="desk-featured-empty"{}>No featured image.</p>'
            '<div class="desk-featured-actions">{}</div></div>',
            urls["data-chooser-url"],
            urls["data-upload-url"],
            name,
            field_id,
            item.pk if item else "",
            mark_safe("") if item else mark_safe(" hidden"),
            image,
            caption,
            mark_safe(" hidden") if item else mark_safe(""),
            buttons,
        )

    def value_from_datadict(self, data, files, name):
        return data.get(name) or None


class PublishWhen(forms.ChoiceField):
    """WordPress's "Publish immediately" or a date; the date and time are the site's."""

    NOW, ON_DATE = "now", "date"

    def __init__(self, **kwargs):
        zone = timezone.get_current_timezone_name()
        super().__init__(
            choices=[(self.NOW, "Publish immediately"), (self.ON_DATE, "Schedule for …")],
            widget=forms.RadioSelect(attrs={"data-publish-when": ""}),
            label="When",
            required=False,
            help_text=f"Dates and times are in the site's time zone ({zone}).",
            **kwargs,
        )


def add_desk_fields(form: forms.ModelForm, *, user, preview_url: str) -> None:
    """Give a content form the desk's widgets (called from ContentForm.__init__)."""
    fields = form.fields
    if "body" in fields:
        fields["body"].widget = MarkdownEditorWidget(preview_url=preview_url, user=user)
    if "featured_image" in fields:
        fields["featured_image"].widget = FeaturedImageWidget(user=user)
        fields["featured_image"].help_text = ""
    if "published_at" in fields:
        post = form.instance
        when = PublishWhen(initial=PublishWhen.ON_DATE if post.published_at else PublishWhen.NOW)
        if post.status == Post.Status.PUBLISHED and post.published_at:
            when.choices = [(PublishWhen.NOW, "Now"), (PublishWhen.ON_DATE, "Published on …")]
        fields["publish_when"] = when
        fields["published_at"].help_text = "Leave empty to publish now; a later time schedules."


def clean_publish_when(form: forms.ModelForm, cleaned: dict) -> None:
    """ "Publish immediately" means no date: the service stamps the moment it publishes."""
    if cleaned.get("publish_when") == PublishWhen.NOW and "published_at" in cleaned:
        stored = form.instance.pk and Post.objects.filter(pk=form.instance.pk).first()
        keeps_date = stored and stored.is_public and stored.published_at
        cleaned["published_at"] = None if not keeps_date else stored.published_at


# --- The preview endpoint ---------------------------------------------------


def _hide_refused(body_html: str, refused: list[int]) -> str:
    # A placeholder for an item that does not exist expands to its alt text only: an item
    # the writer may not use must not show in their preview either.
    for pk in refused:
        body_html = body_html.replace(f'data-media-id="{pk}"', 'data-media-id="0"')
    return body_html


@require_POST
def preview_view(request):
    """POST `body` and `body_format`: answers {"html", "warnings"} (JSON).

    Works before the first save: nothing is read from or written to a post.
    """
    if not request.user.has_perm("blog.add_post") and not request.user.has_perm("blog.change_page"):
        raise PermissionDenied
    source = request.POST.get("body", "")
    if len(source) > PREVIEW_MAX_CHARS:
        return JsonResponse({"error": "The text is too long to preview."}, status=400)
    body_format = request.POST.get("body_format", Post.Format.MARKDOWN)
    if body_format not in Post.Format.values:
        return JsonResponse({"error": "Unknown format."}, status=400)
    html = render_post_body(
        source, body_format, allow_embeds=request.user.has_perm("blog.unfiltered_html")
    )
    warnings = []
    ids = media_ids_in(html)
    if ids:
        missing, refused = media_unusable(ids=ids, by=request.user)
        if missing:
            warnings.append(f"No media item with id {', '.join(map(str, missing))} exists.")
        if refused:
            warnings.append(f"You may not use media item {', '.join(map(str, refused))}.")
            html = _hide_refused(html, refused)
    return JsonResponse({"html": media_expand(html), "warnings": warnings})


class EditorViewsMixin:
    """Adds the preview endpoint, `<model>/preview-body/`, to the post and page admins."""

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_preview_body"
        wrap = self.admin_site.admin_view
        return [path("preview-body/", wrap(preview_view), name=name), *super().get_urls()]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.preview_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_preview_body"
        )
        return form
