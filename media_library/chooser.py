"""The media chooser's list: what the editor's "Add media" dialog and the featured-image
picker show, as JSON (served by MediaItemAdmin.chooser_view).

Who sees what is media_library's rule (MediaItem.objects.usable_by): authors only their
own uploads, editors everyone's; `mine` narrows an editor's list to their own.
"""

from __future__ import annotations

import re

from django.core.paginator import Paginator
from django.db.models import Q
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone

from media_library.models import MediaItem

PAGE_SIZE = 40
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def thumbnail_url(item: MediaItem | None) -> str:
    """The square thumbnail, or the full image until the renditions are made."""
    if item is None:
        return ""
    entry = item.rendition("thumbnail") or item.rendition("full")
    return item.url(entry["file"]) if entry else ""


def markdown_snippet(item: MediaItem) -> str:
    """`![alt](media:N)`, what a post's Markdown names the item with (a file: a link)."""
    if not item.is_image:
        label = str(item).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
        return f"[{label}]({item.get_absolute_url()})"
    alt = item.alt_text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return f"![{alt}](media:{item.pk})"


def item_json(item: MediaItem) -> dict:
    return {
        "id": item.pk,
        "title": str(item),
        "alt_text": item.alt_text,
        "thumbnail": thumbnail_url(item),
        "url": item.get_absolute_url() if item.file else "",
        "width": item.width,
        "height": item.height,
        "markdown": markdown_snippet(item),
        "alt_text_url": reverse("admin:media_library_mediaitem_alt_text", args=[item.pk]),
        "uploaded_by": item.uploaded_by.get_username() if item.uploaded_by else "",
        "created_at": timezone.localtime(item.created_at).strftime("%Y-%m-%d"),
    }


def _months(queryset) -> list[dict]:
    months = (
        queryset.annotate(month=TruncMonth("created_at"))
        .order_by("-month")
        .values_list("month", flat=True)
        .distinct()
    )
    return [{"value": f"{m:%Y-%m}", "label": f"{m:%B %Y}"} for m in months if m]


def chooser_page(*, user, query: str = "", month: str = "", mine: bool = False, page: int = 1):
    """One page of the library as `user` may see it, newest first, with the month filter."""
    # The chooser places images; other files are linked to from the library's page.
    usable = MediaItem.objects.usable_by(user).filter(kind=MediaItem.Kind.IMAGE)
    sees_all = user.has_perm("blog.edit_others_posts")
    if mine and sees_all:
        usable = usable.filter(uploaded_by=user)
    items = usable.select_related("uploaded_by")
    for word in query.split()[:8]:
        items = items.filter(
            Q(title__icontains=word) | Q(alt_text__icontains=word) | Q(caption__icontains=word)
        )
    if match := _MONTH.fullmatch(month):
        year, number = int(match[1]), int(match[2])
        items = items.filter(created_at__year=year, created_at__month=number)
    paginator = Paginator(items, PAGE_SIZE)
    current = paginator.get_page(page)
    return {
        "items": [item_json(item) for item in current.object_list],
        "page": current.number,
        "has_next": current.has_next(),
        "total": paginator.count,
        "months": _months(usable),
        "sees_all": sees_all,
    }
