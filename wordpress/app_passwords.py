"""Application passwords, as WordPress has them: per-user, named secrets for API clients.

The secret is 24 letters and digits (about 143 bits), shown once in groups of four and
stored only as a hash. A secret that long cannot be guessed or looked up in a table,
so a slow password hash (PBKDF2) would only make every API request slower: it is
hashed with BLAKE2b, as WordPress 6.8's wp_fast_hash() does, here with a random salt
per password too (`blake2b$<salt>$<digest>`). Hashes of the first format (unsalted
`sha256$`) still verify and are rewritten in the new one on their next successful use.
Wrong guesses are still throttled: checks run inside django.contrib.auth.authenticate(),
which login throttling watches. Nothing about a password is cached: every request
reads it from the writer, so a revocation holds at once on every instance.

An application password is for the API only: the backend accepts one only when the
API's authentication marked the request, so it never opens the admin or the site.
"""

from __future__ import annotations

import base64
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


_SCHEME = "blake2b"
_PERSON = b"cloudblog-apppw"  # BLAKE2b's personalization: these digests are for this only


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _blake2b(secret: str, salt: bytes) -> str:
    digest = hashlib.blake2b(secret.encode(), digest_size=32, salt=salt, person=_PERSON)
    return f"{_SCHEME}${_b64(salt)}${_b64(digest.digest())}"


def _hash(secret: str) -> str:
    return _blake2b(secret, secrets.token_bytes(hashlib.blake2b.SALT_SIZE))


def _legacy_sha256(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def _verify(stored: str, secret: str) -> bool:
    scheme, _, rest = stored.partition("$")
    if scheme == _SCHEME:
        salt_b64 = rest.partition("$")[0]
        try:
            salt = base64.urlsafe_b64decode(salt_b64 + "=" * (-len(salt_b64) % 4))
        except ValueError:
            return False
        return hmac.compare_digest(stored, _blake2b(secret, salt))
    if scheme == "sha256":
        return hmac.compare_digest(stored, _legacy_sha256(secret))
    return False


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
        return _verify(self.password_hash, secret)

    @property
    def hash_is_current(self) -> bool:
        return self.password_hash.startswith(f"{_SCHEME}$")


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


def _secret(password: str) -> str | None:
    secret = _NOT_ALNUM.sub("", password or "")
    return secret if len(secret) == LENGTH else None


def _record_use(found: ApplicationPassword, secret: str, ip: str | None) -> None:
    now = timezone.now()
    changes = {}
    if found.last_used_at is None or now - found.last_used_at > _USAGE_EVERY or found.last_ip != ip:
        changes.update(last_used_at=now, last_ip=ip)
    if not found.hash_is_current:
        changes["password_hash"] = _hash(secret)  # the old format, upgraded on use
    if changes:
        ApplicationPassword.objects.filter(pk=found.pk).update(**changes)
        for name, value in changes.items():
            setattr(found, name, value)


def _matching(candidates, secret: str) -> ApplicationPassword | None:
    return next((item for item in candidates if item.matches(secret)), None)


def app_password_check(*, user, password: str, ip: str | None) -> ApplicationPassword | None:
    """The application password of `user` that `password` is, with its use recorded."""
    secret = _secret(password)
    if secret is None:
        return None
    # Read on the writer: a password revoked a moment ago must not work on a lagging replica.
    candidates = ApplicationPassword.objects.db_manager(DEFAULT_DB_ALIAS).filter(user=user)
    found = _matching(candidates, secret)
    if found is not None:
        _record_use(found, secret, ip)
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

        secret = _secret(password)
        if secret is None:
            return None
        # The account and its passwords in one query, on the writer (see app_password_check).
        field = "user__email__iexact" if "@" in username else "user__username"
        candidates = (
            ApplicationPassword.objects.db_manager(DEFAULT_DB_ALIAS)
            .select_related("user")
            .filter(**{field: username}, user__is_active=True)
        )
        item = _matching(candidates, secret)
        if item is None:
            return None
        _record_use(item, secret, client_ip(request))
        request.wp_application_password_item = item
        return item.user

    def get_user(self, user_id):
        # As ModelBackend: a session this backend recorded ends once the account is
        # deactivated.
        return get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
