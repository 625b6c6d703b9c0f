"""Wrong credentials over HTTP Basic are throttled like the login forms (django-axes)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import PASSWORD
from tests.wordpress.api.conftest import basic

pytestmark = pytest.mark.django_db
POSTS = "/wp-json/wp/v2/posts?context=edit&status=draft"


def test_wrong_application_passwords_lock_the_account_for_that_address(author, app_auth, settings):
    good = app_auth(author)
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    answers = [
        attacker.get(POSTS, **basic(author, "wrong wrong wrong wrong wrong wron")).status_code
        for _ in range(settings.LOGIN_FAILURE_LIMIT + 1)
    ]

    # As at the login forms: the failure that reaches the limit is answered with the lock.
    limit = settings.LOGIN_FAILURE_LIMIT
    assert answers == [401] * (limit - 1) + [429, 429]
    locked = attacker.get(POSTS, **good)  # the right application password, too late
    assert locked.status_code == 429
    assert locked.json()["code"] == "rest_too_many_attempts"
    assert locked["Retry-After"] == str(settings.LOGIN_COOLOFF_SECONDS)
    # The owner's own client, from its own address, goes on working.
    assert Client(REMOTE_ADDR="198.51.100.7").get(POSTS, **good).status_code == 200


def test_the_accounts_real_password_over_basic_auth_counts_as_a_failure(author, settings):
    attacker = Client(REMOTE_ADDR="203.0.113.10")
    answers = [
        attacker.get(POSTS, **basic(author, PASSWORD)).status_code
        for _ in range(settings.LOGIN_FAILURE_LIMIT)
    ]

    assert answers == [401] * (settings.LOGIN_FAILURE_LIMIT - 1) + [429]
