"""Application passwords, as WordPress has them: per-user, named secrets for API clients.

The secret is 24 letters and digits (about 143 bits), shown once in groups of four and
stored only as a hash. A secret that long cannot be guessed, so a fast hash (SHA-256)
is as safe as a slow one here and keeps each API request cheap, as WordPress 6.8 does
with its fast hash. Wrong guesses are still throttled: checks run inside
django.contrib.auth.authenticate(), which login throttling watches.

An application password is for the API only: the backend accepts one only when the
API's authentication marked the request, so it never opens the admin or the site.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.urls import reverse
from django.utils import timezone

LENGTH = 24
_ALPHABET = string.ascii_letters + string.digits
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
# Recording every use would write on every read; once a minute (or a new address) is enough.
_USAGE_EVERY = timedelta(minutes=1)
API_REQUEST_FLAG = "wp_application_password"


def _hash(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def chunked(secret: str) -> str:
    """`abcdEFGH1234...` as `abcd EFGH 1234 ...`, how WordPress shows a new password."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


class ApplicationPassword(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="application_passwords"
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    password_hash = models.CharField(max_length=100, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"
        verbose_name = "application password"
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="app_password_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    def get_absolute_url(self) -> str:
        return reverse("admin:auth_user_change", args=[self.user_id])

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.password_hash, _hash(secret))


def _may_manage(*, user, by) -> bool:
    return by is None or by.pk == user.pk or by.has_perm("auth.change_user")


@transaction.atomic
def app_password_create(*, user, name: str, by) -> tuple[ApplicationPassword, str]:
    """A new application password; returns it and the secret, which is never stored.

    `by` is who asks (None for the command line, which the operator runs as the site).
    """
    if not _may_manage(user=user, by=by):
        raise PermissionDenied("You may not create application passwords for this user.")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "An application password needs a name."})
    if len(name) > 200:
        raise ValidationError({"name": "The name is longer than 200 characters."})
    if ApplicationPassword.objects.filter(user=user, name=name).exists():
        raise ValidationError({"name": "Each application name should be unique."})
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(LENGTH))
    item = ApplicationPassword.objects.create(user=user, name=name, password_hash=_hash(secret))
    return item, secret


@transaction.atomic
def app_password_revoke(*, item: ApplicationPassword, by) -> None:
    if not _may_manage(user=item.user, by=by):
        raise PermissionDenied("You may not revoke this application password.")
    item.delete()


def app_password_check(*, user, password: str, ip: str | None) -> ApplicationPassword | None:
    """The application password of `user` that `password` is, with its use recorded."""
    secret = _NOT_ALNUM.sub("", password or "")
    if len(secret) != LENGTH:
        return None
    # Read on the writer: a password revoked a moment ago must not work on a lagging replica.
    candidates = ApplicationPassword.objects.db_manager(DEFAULT_DB_ALIAS).filter(user=user)
    found = next((item for item in candidates if item.matches(secret)), None)
    if found is None:
        return None
    now = timezone.now()
    if found.last_used_at is None or now - found.last_used_at > _USAGE_EVERY or found.last_ip != ip:
        ApplicationPassword.objects.filter(pk=found.pk).update(last_used_at=now, last_ip=ip)
        found.last_used_at, found.last_ip = now, ip
    return found


class ApplicationPasswordBackend(BaseBackend):
    """authenticate(request, username=..., password=...) for the API's HTTP Basic auth.

    Accepts a username or an email address, as WordPress does, and answers only for
    requests the API marked (API_REQUEST_FLAG), so an application password never logs in
    to the site; a user's real password is left to the other backends, and the API
    refuses it (wordpress/api/auth.py).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or not getattr(request, API_REQUEST_FLAG, False):
            return None
        if not username or not password:
            return None
        from webtier.request import client_ip

        User = get_user_model()
        users = User._default_manager.db_manager(DEFAULT_DB_ALIAS)
        lookup = {"email__iexact": username} if "@" in username else {"username": username}
        user = users.filter(**lookup).first()
        if user is None or not user.is_active:
            return None
        item = app_password_check(user=user, password=password, ip=client_ip(request))
        if item is None:
            return None
        request.wp_application_password_item = item
        return user

    def get_user(self, user_id):
        return get_user_model()._default_manager.filter(pk=user_id).first()
