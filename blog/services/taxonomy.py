"""Categories and tags: their names show on every page, so each change purges the page cache."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from blog.models import Category, Tag
from webtier.page_cache import pages_changed


def category_is_own_ancestor(category: Category, parent: Category | None) -> bool:
    """Would `parent` as the parent of `category` close a loop? Stops on loops already stored."""
    seen = set()
    while parent is not None and parent.pk not in seen:
        if category.pk is not None and parent.pk == category.pk:
            return True
        seen.add(parent.pk)
        parent = parent.parent
    return False


def _require(by, perm: str, message: str) -> None:
    if not by.has_perm(perm):
        raise PermissionDenied(message)


@transaction.atomic
def category_save(*, category: Category, by) -> Category:
    """Create or change a category; its parent may not be itself or below it."""
    action = "change" if category.pk else "add"
    _require(by, f"blog.{action}_category", "You may not edit categories.")
    if category_is_own_ancestor(category, category.parent):
        raise ValidationError({"parent": "A category cannot be its own ancestor."})
    category.full_clean(exclude=["parent"])
    category.save()
    pages_changed()
    return category


@transaction.atomic
def category_delete(*, categories, by) -> int:
    """Delete categories; their posts stay, their children move up to the top level."""
    _require(by, "blog.delete_category", "You may not delete categories.")
    deleted, _ = Category.objects.filter(pk__in=[c.pk for c in categories]).delete()
    pages_changed()
    return deleted


@transaction.atomic
def tag_save(*, tag: Tag, by) -> Tag:
    action = "change" if tag.pk else "add"
    _require(by, f"blog.{action}_tag", "You may not edit tags.")
    tag.full_clean()
    tag.save()
    pages_changed()
    return tag


@transaction.atomic
def tag_delete(*, tags, by) -> int:
    _require(by, "blog.delete_tag", "You may not delete tags.")
    deleted, _ = Tag.objects.filter(pk__in=[t.pk for t in tags]).delete()
    pages_changed()
    return deleted
