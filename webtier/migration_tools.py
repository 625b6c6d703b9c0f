"""Helpers for migrations that move models between apps without touching their tables."""

from __future__ import annotations


def move_content_types(apps, old_label: str, new_label: str, models) -> None:
    """Give the content types of `models` to `new_label`, keeping their rows.

    Permissions, the roles' grants of them and admin log entries point at the content
    type's row, so renaming the row carries every one of them over. A row already made
    for the new label (a `migrate` that created content types before this ran) holds no
    grants of the old ones: it gives way.
    """
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in models:
        old = ContentType.objects.filter(app_label=old_label, model=model).first()
        if old is None:
            continue  # a new database: post_migrate creates the new one
        ContentType.objects.filter(app_label=new_label, model=model).delete()
        old.app_label = new_label
        old.save(update_fields=["app_label"])
