"""Login throttling on every door that checks a password, through django-axes.

Failures are counted in the database (axes' `AccessAttempt`), which every instance
shares, by the client's real address (`client_ip`, behind TRUSTED_PROXY_COUNT proxies;
never a header the client controls). The policy (README, "Login throttling"):

- an account and an address together are locked after LOGIN_FAILURE_LIMIT failures:
  the attacker's address loses that account, the account's owner elsewhere does not;
- an address alone is locked after LOGIN_IP_FAILURE_LIMIT failures whatever accounts
  it names (password spraying), set higher because an office or a mobile carrier puts
  many people behind one address;
- a lock ends LOGIN_COOLOFF_SECONDS after the last failure (a failure while locked
  starts it again), so nobody is locked out for good; an administrator can clear one
  sooner in the admin (*Axes → Access attempts*).

Doors that use `django.contrib.auth.authenticate(request, ...)` (the admin's and the
site's login forms, the API's Basic auth) are covered by `ThrottleBackend` and the axes
middleware; a door with a password of its own (a protected post) calls
`password_door_locked` and `password_door_failed`.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

# The "account" a protected post's password door counts failures for: one per post.
POST_PASSWORD_PREFIX = "post-password:"  # noqa: S105 (a label, not a password)


class ThrottleBackend(AxesStandaloneBackend):
    """axes' lockout check, first in AUTHENTICATION_BACKENDS.

    `authenticate()` without a request comes from code (a management command, the test
    client's `login()`), never from a visitor: there is no address to count, so it is
    passed on to the next backend instead of raising as axes' own backend does.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


class ThrottleHandler(AxesDatabaseHandler):
    """axes' database handler with a limit of its own for an address alone.

    axes compares one number with one limit (AXES_FAILURE_LIMIT, the pair's). The
    address's count is scaled onto that limit, so it reaches it exactly when the
    address has failed LOGIN_IP_FAILURE_LIMIT times.
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        pair, address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        scaled = address * settings.LOGIN_FAILURE_LIMIT // settings.LOGIN_IP_FAILURE_LIMIT
        return max(pair, scaled)


def retry_after(request: HttpRequest | None = None) -> int:
    """Seconds until a lock that starts now has ended."""
    return int(get_cool_off(request).total_seconds())


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: a 429 page that says how long, with `Retry-After`."""
    seconds = retry_after(request)
    account = (credentials or {}).get("username") or ""
    html = render_to_string(
        "throttled.html",
        {
            "minutes": max(1, round(seconds / 60)),
            "post_password": account.startswith(POST_PASSWORD_PREFIX),
        },
        request=request,
    )
    response = HttpResponse(html, status=429)
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response


def _credentials(account: str) -> dict:
    return {settings.AXES_USERNAME_FORM_FIELD: account}


def password_door_locked(request: HttpRequest, *, account: str) -> bool:
    """Whether this address may not try `account`'s password now (a door of our own)."""
    return not AxesProxyHandler.is_allowed(request, _credentials(account))


def password_door_failed(request: HttpRequest, *, account: str) -> None:
    """Count a wrong password at a door of our own, as a failed login is counted.

    When this failure reaches a limit, the axes middleware turns the response into
    `lockout_response`, as for a login form.
    """
    user_login_failed.send(sender=__name__, credentials=_credentials(account), request=request)
