"""Who is calling: an application password over HTTP Basic, or a logged-in browser's
cookie plus the X-WP-Nonce header, as WordPress authenticates REST requests.

Basic credentials go through django.contrib.auth.authenticate(), so login throttling
(which watches authenticate()) counts every wrong guess, per account and per address.
A cookie without a nonce is anonymous, as in WordPress: a page on another site cannot
make a logged-in browser act through the API (the nonce is the CSRF token).
"""

from __future__ import annotations

import base64
import binascii
import time

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework.authentication import BaseAuthentication

from webtier.throttle import retry_after
from wordpress.api.errors import WPError
from wordpress.app_passwords import API_REQUEST_FLAG

BACKEND = "wordpress.app_passwords.ApplicationPasswordBackend"
# WordPress's nonce life: valid for 12 to 24 hours (two ticks).
NONCE_TICK_SECONDS = 12 * 3600
_WRONG = "The provided password is an invalid application password."


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise WPError("rest_invalid_authorization", "Malformed Basic credentials.", 401) from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise WPError("rest_invalid_authorization", "Malformed Basic credentials.", 401)
    return username, password


def basic_user(django_request):
    """The user of the request's Basic credentials; None without any; WPError if wrong.

    Shared by DRF's authentication below and the page cache's check of a signed-in read
    it answers from the anonymous entry (wordpress/api/shared_reads.py).
    """
    header = django_request.META.get("HTTP_AUTHORIZATION", "")
    credentials = _basic_credentials(header) if header else None
    if credentials is None:
        return None
    username, password = credentials
    setattr(django_request, API_REQUEST_FLAG, True)
    user = authenticate(django_request, username=username, password=password)
    if getattr(django_request, "axes_locked_out", False):
        # Answered here, in WordPress's shape: left set, the axes middleware would
        # replace this with the login forms' HTML page.
        django_request.axes_locked_out = False
        raise WPError(
            "rest_too_many_attempts",
            "Too many failed attempts: this account or address is locked out for now.",
            429,
            headers={"Retry-After": str(retry_after(django_request))},
        )
    if user is not None and getattr(user, "backend", BACKEND) != BACKEND:
        # The account's real password: WordPress accepts only application passwords
        # over Basic auth. Counted as a failure, so it cannot be tried for free.
        user_login_failed.send(
            sender=__name__,
            credentials={"username": username},
            request=django_request,
        )
        user = None
    if user is None:
        raise WPError("incorrect_password", _WRONG, 401)
    return user


class ApplicationPasswordAuthentication(BaseAuthentication):
    def authenticate(self, request):
        django_request = request._request
        user = basic_user(django_request)
        if user is None:
            return None
        return user, getattr(django_request, "wp_application_password_item", None)


def _nonce_for(user, session_key: str, tick: int) -> str:
    value = f"{user.pk}|{session_key}|{tick}"
    return salted_hmac("wordpress.api.nonce", value).hexdigest()[-12:-2]


def make_nonce(request) -> str:
    """The X-WP-Nonce a page gives its scripts (valid 12 to 24 hours, for this session)."""
    tick = int(time.time() // NONCE_TICK_SECONDS)
    return _nonce_for(request.user, request.session.session_key or "", tick)


def nonce_valid(request, nonce: str) -> bool:
    tick = int(time.time() // NONCE_TICK_SECONDS)
    key = request.session.session_key or ""
    return any(
        constant_time_compare(nonce, _nonce_for(request.user, key, t)) for t in (tick, tick - 1)
    )


class CookieNonceAuthentication(BaseAuthentication):
    def authenticate(self, request):
        django_request = request._request
        user = getattr(django_request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        nonce = request.META.get("HTTP_X_WP_NONCE") or request.query_params.get("_wpnonce")
        if not nonce:
            return None  # a cookie alone is anonymous, as in WordPress
        if not nonce_valid(django_request, nonce):
            raise WPError("rest_cookie_invalid_nonce", "Cookie check failed", 403)
        return user, None
