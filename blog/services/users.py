"""Users: roles (WordPress's, as groups) and the profile a user edits themselves."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from blog import roles
from webtier.page_cache import pages_changed


def user_role_check(*, user, role: str | None, by) -> None:
    """Raise if `by` may not give `user` this role (forms call it to show the error)."""
    if not by.has_perm("auth.change_user"):
        raise PermissionDenied("You may not change roles.")
    if role is not None and role not in roles.ROLES:
        raise ValidationError(f"Unknown role {role!r}.")
    if user.pk == by.pk and role != roles.ADMINISTRATOR and not by.is_superuser:
        raise ValidationError("You cannot take the Administrator role from yourself.")


@transaction.atomic
def user_set_role(*, user, role: str | None, by) -> None:
    """Give `user` exactly one role; staff access follows (Subscribers never see the admin)."""
    role = role or None
    user_role_check(user=user, role=role, by=by)
    user.groups.remove(*Group.objects.filter(name__in=roles.ROLES))
    if role:
        user.groups.add(Group.objects.get(name=role))
    user.is_staff = user.is_superuser or role in roles.STAFF_ROLES
    user.save(update_fields=["is_staff"])


@transaction.atomic
def user_update_profile(*, user, first_name: str, last_name: str, email: str):
    """A user's own name and email; the name is the byline on every post of theirs."""
    user.first_name, user.last_name, user.email = first_name, last_name, email
    user.full_clean(validate_unique=False, exclude=["password", "username"])
    user.save(update_fields=["first_name", "last_name", "email"])
    pages_changed()
    return user
