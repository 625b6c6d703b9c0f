"""Signed-in readers without the database: their user row, kept in the shared cache.

A signed-in page view the page cache answers (webtier/holes.py) needs the reader's user:
for the auth check itself (is_active, the password hash behind the session's auth hash),
and for the holes (name, is_staff, permissions). Loading it through the ORM is a query,
and with DATABASE_CONN_MAX_AGE=0 a connection to MariaDB per request: half the CPU of
such a view. So `CachedUserMiddleware` (in place of Django's AuthenticationMiddleware)
loads the user of a session made by Django's ModelBackend from Redis: the row as a
pickled model instance, with its permissions already loaded (ModelBackend's caches on
the instance), so `has_perm()` costs no query either. A warm signed-in hit opens no
database connection at all.

Everything else is Django's `auth.get_user()`, done the same way: a user who is not
active is no user; a session whose auth hash does not match the password (changed
elsewhere: "log out other sessions") is flushed; one matching a fallback secret is
rotated.

Kept fresh by stamps, not by deleting: an entry records the (users generation, user
version) it was loaded under and is used only while both are unchanged, read in one
round trip with the entry. After commit, any save or delete of a user (a password or a
role change, deactivation, last_login on a login) sets that user's version, and changes
to groups, their permissions or a user's groups set the generation (every user loads
again once). A load that read the row before a change committed is filed under the old
stamp, so no race can keep an old row. A stamp that cannot be written (Redis down) bumps
the cache epoch instead (webtier/cache.py), which makes every entry unreachable. Writes
behind the ORM (raw SQL, `QuerySet.update()` on users, which nothing in the project
does) are bounded by USER_CACHE_SECONDS.
"""

from __future__ import annotations

import time
from functools import cache as cache_function
from functools import partial

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser, Group
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject
from django.utils.module_loading import import_string

from webtier.cache import bump_epoch

GENERATION_KEY = "users-generation"
USER_CACHE_SECONDS = 300


def _version_key(pk) -> str:
    return f"user-version:{pk}"


def _entry_key(pk) -> str:
    return f"user:{pk}"


def _load(pk):
    """The user from the writer (a replica may lag behind the change that stamped it),
    with the permissions ModelBackend would load on the first has_perm()."""
    user = get_user_model()._default_manager.using(DEFAULT_DB_ALIAS).filter(pk=pk).first()
    if user is not None and user.is_active and not user.is_superuser:
        ModelBackend().get_all_permissions(user)  # fills user._perm_cache and the rest
    return user


def cached_user(pk):
    """The user with primary key `pk` (None if there is none), from the cache when its
    entry is still current."""
    keys = [GENERATION_KEY, _version_key(pk), _entry_key(pk)]
    got = cache.get_many(keys)
    stamp = (got.get(GENERATION_KEY) or 0, got.get(keys[1]) or 0)
    entry = got.get(keys[2])
    if entry is not None and entry["stamp"] == stamp:
        return entry["user"]
    user = _load(pk)
    if user is not None:
        cache.set(keys[2], {"stamp": stamp, "user": user}, timeout=USER_CACHE_SECONDS)
    return user


@cache_function
def _loads_as_model_backend(path: str) -> bool:
    backend = import_string(path)
    return issubclass(backend, ModelBackend) and backend.get_user is ModelBackend.get_user


def _model_backend(path: str) -> bool:
    """Does the backend at `path` load users as ModelBackend does (what we cache)?"""
    return path in settings.AUTHENTICATION_BACKENDS and _loads_as_model_backend(path)


def get_user(request):
    """django.contrib.auth.get_user(), with the row from the cache (module doc)."""
    session = request.session
    try:
        user_id = auth._get_user_session_key(request)
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if not _model_backend(backend_path):
        return auth.get_user(request)
    user = cached_user(user_id)
    if user is None or not user.is_active:
        return AnonymousUser()
    session_hash = session.get(HASH_SESSION_KEY)
    current = user.get_session_auth_hash()
    if session_hash and constant_time_compare(session_hash, current):
        return user
    if session_hash and any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    ):
        session.cycle_key()
        session[HASH_SESSION_KEY] = current
        return user
    session.flush()
    return AnonymousUser()


class CachedUserMiddleware(AuthenticationMiddleware):
    """AuthenticationMiddleware whose `request.user` comes from `get_user` above."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(partial(get_user, request))


def _stamp(key: str) -> None:
    if not cache.set(key, time.time_ns(), timeout=2 * USER_CACHE_SECONDS):
        bump_epoch(f"{key} could not be stamped")


def _stale(key: str) -> None:
    # Now, for what this connection reads before its commit (a test's transaction never
    # commits), and after commit, against a load that read the old row in between.
    _stamp(key)
    transaction.on_commit(partial(_stamp, key))


def user_changed(pk) -> None:
    """The cached copy of user `pk` is stale."""
    _stale(_version_key(pk))


def users_changed() -> None:
    """Every cached user is stale (a group or its permissions changed)."""
    _stale(GENERATION_KEY)


def _on_user_saved(sender, instance, **kwargs):
    user_changed(instance.pk)


def _on_groups_changed(sender, instance, **kwargs):
    if kwargs["action"].startswith("post_"):
        user_changed(instance.pk) if isinstance(instance, get_user_model()) else users_changed()


def _on_group_changed(sender, **kwargs):
    users_changed()


def connect() -> None:
    """Every door that changes a user, a group or their permissions goes through the
    ORM's signals: the admin, the roles service, `changepassword`, a login's last_login."""
    user_model = get_user_model()
    post_save.connect(_on_user_saved, sender=user_model, dispatch_uid="webtier.users.saved")
    post_delete.connect(_on_user_saved, sender=user_model, dispatch_uid="webtier.users.deleted")
    for through in (user_model.groups.through, user_model.user_permissions.through):
        m2m_changed.connect(_on_groups_changed, sender=through, dispatch_uid=f"webtier.{through}")
    m2m_changed.connect(
        _on_groups_changed, sender=Group.permissions.through, dispatch_uid="webtier.group.perms"
    )
    for signal in (post_save, post_delete):
        signal.connect(_on_group_changed, sender=Group, dispatch_uid=f"webtier.group.{signal}")
