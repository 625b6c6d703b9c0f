"""The site's settings: who may change them, and what a change touches.

Only administrators (WordPress's manage_options) read or write them. A change is
checked as a whole (types, ranges, a real time zone, an existing category) and either
saved entirely or refused with every problem named, changing nothing.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, transaction

from blog import roles
from blog.models import Category
from blog.site_settings import (
    NAMES,
    SINGLETON_PK,
    Options,
    SiteSettings,
    settings_replace_held,
    site_settings,
)
from webtier.page_cache import pages_changed


def site_settings_can_manage(user) -> bool:
    """WordPress's manage_options: the Administrator role (superusers included)."""
    return roles.user_role(user) == roles.ADMINISTRATOR


@transaction.atomic
def site_settings_update(*, changes: dict, by) -> Options:
    """Apply `changes` (names as in Options) and return the settings now in force.

    `by` is who asks (None for code that runs as the site, such as a command).
    """
    if by is not None and not site_settings_can_manage(by):
        raise PermissionDenied("Only administrators may change the site's settings.")
    unknown = sorted(set(changes) - set(NAMES))
    if unknown:
        raise ValidationError({name: f"{name} is not a site setting." for name in unknown})
    row = (
        SiteSettings.objects.using(DEFAULT_DB_ALIAS)
        .select_for_update()
        .filter(pk=SINGLETON_PK)
        .first()
    )
    if row is None:
        # The first save writes down what the site used until now (the environment's).
        row = SiteSettings(pk=SINGLETON_PK, **vars(site_settings()))
    for name, value in changes.items():
        setattr(row, name, value)
    category = row.default_category_id
    if category is not None and not Category.objects.filter(pk=category).exists():
        raise ValidationError({"default_category_id": f"There is no category {category}."})
    try:
        row.full_clean(exclude=["default_category"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    row.save(using=DEFAULT_DB_ALIAS)
    # Titles and taglines are on every page; posts per page changes every list.
    pages_changed()
    options = Options(**{name: getattr(row, name) for name in NAMES})
    settings_replace_held(options)
    return options
