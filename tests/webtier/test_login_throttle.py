"""Login throttling through the doors an attacker uses: both login forms and the
post-password form, by account and address, the real address behind the proxies."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from blog import roles
from tests.factories import PASSWORD, make_post, make_user

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
ELSEWHERE = "198.51.100.20"
LOGINS = ["/admin/login/", "/accounts/login/"]


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.LOGIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 5
    settings.LOGIN_IP_FAILURE_LIMIT = 20


@pytest.fixture
def victim(db):
    return make_user(roles.EDITOR, username="victim")


def _login(client, url, username, password, **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


@pytest.mark.parametrize("url", LOGINS)
def test_the_fifth_wrong_password_locks_that_account_for_that_address_only(client, victim, url):
    wrong = [_login(client, url, "victim", f"guess-{n}", REMOTE_ADDR=ATTACKER) for n in range(5)]
    right_here = _login(client, url, "victim", PASSWORD, REMOTE_ADDR=ATTACKER)
    right_elsewhere = _login(client, url, "victim", PASSWORD, REMOTE_ADDR=ELSEWHERE)

    assert [r.status_code for r in wrong] == [200, 200, 200, 200, 429]
    assert right_here.status_code == 429  # the right password does not get through a lock
    assert right_here["Retry-After"] == "900"
    assert b"Too many failed sign-ins" in right_here.content
    assert b"15 minutes" in right_here.content
    assert right_elsewhere.status_code == 302  # the owner, elsewhere, is not locked out
    assert client.session["_auth_user_id"] == str(victim.pk)


def test_failures_at_both_forms_count_together(client, victim):
    for n in range(4):
        _login(client, LOGINS[n % 2], "victim", f"guess-{n}", REMOTE_ADDR=ATTACKER)

    assert (
        _login(client, "/accounts/login/", "victim", "x", REMOTE_ADDR=ATTACKER).status_code == 429
    )


def test_a_lock_ends_after_the_cool_off_and_the_owner_signs_in(client, victim, settings):
    for n in range(5):
        _login(client, "/accounts/login/", "victim", f"guess-{n}", REMOTE_ADDR=ATTACKER)

    with time_machine.travel(timezone.now() + timedelta(seconds=899)):
        still = _login(client, "/accounts/login/", "victim", PASSWORD, REMOTE_ADDR=ATTACKER)
    # That try while locked started the wait again.
    with time_machine.travel(timezone.now() + timedelta(seconds=899 + 901)):
        later = _login(client, "/accounts/login/", "victim", PASSWORD, REMOTE_ADDR=ATTACKER)

    assert still.status_code == 429
    assert later.status_code == 302


def test_an_address_spraying_many_accounts_is_locked_after_twenty_failures(client, victim):
    answers = [
        _login(client, "/admin/login/", f"user{n}", "Winter2026!", REMOTE_ADDR=ATTACKER).status_code
        for n in range(20)
    ]
    then_victim = _login(client, "/admin/login/", "victim", PASSWORD, REMOTE_ADDR=ATTACKER)
    others = _login(client, "/admin/login/", "victim", PASSWORD, REMOTE_ADDR=ELSEWHERE)

    assert answers == [200] * 19 + [429]
    assert then_victim.status_code == 429
    assert others.status_code == 302


def test_the_address_is_the_one_our_proxy_saw_not_one_the_client_wrote(client, victim, settings):
    settings.TRUSTED_PROXY_COUNT = 1  # the ALB appends the address it saw
    answers = [
        _login(
            client,
            "/accounts/login/",
            "victim",
            f"guess-{n}",
            REMOTE_ADDR="10.0.0.5",  # the load balancer
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ATTACKER}",  # a forged hop, then the real one
        ).status_code
        for n in range(5)
    ]

    assert answers == [200, 200, 200, 200, 429]
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}


def test_without_trusted_proxies_a_forwarded_header_is_ignored(client, victim):
    for n in range(5):
        _login(
            client,
            "/accounts/login/",
            "victim",
            f"guess-{n}",
            REMOTE_ADDR=ATTACKER,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}


def test_the_post_password_form_is_throttled_per_post_and_address(client, author):
    post = make_post(author, title="Members only", password="opensesame")
    other = make_post(author, title="Also locked", password="letmein")
    unlock = reverse("blog:post-unlock", args=[post.pk])

    wrong = [
        client.post(unlock, {"password": f"guess-{n}"}, REMOTE_ADDR=ATTACKER) for n in range(5)
    ]
    right_here = client.post(unlock, {"password": "opensesame"}, REMOTE_ADDR=ATTACKER)
    other_post = client.post(
        reverse("blog:post-unlock", args=[other.pk]), {"password": "letmein"}, REMOTE_ADDR=ATTACKER
    )
    right_elsewhere = client.post(unlock, {"password": "opensesame"}, REMOTE_ADDR=ELSEWHERE)

    assert [r.status_code for r in wrong] == [403, 403, 403, 403, 429]
    assert right_here.status_code == 429 and right_here["Retry-After"] == "900"
    assert b"That password was wrong too many times" in right_here.content
    assert b"Members only" not in right_here.content
    assert other_post.status_code == 302
    assert right_elsewhere.status_code == 302


def test_an_administrator_sees_the_lockout_and_clears_it(client, victim, administrator):
    attacker = type(client)()
    for n in range(5):
        _login(attacker, "/accounts/login/", "victim", f"guess-{n}", REMOTE_ADDR=ATTACKER)
    client.force_login(administrator)
    changelist = reverse("admin:axes_accessattempt_changelist")

    listing = client.get(changelist)
    row = AccessAttempt.objects.get(username="victim")
    cleared = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    after = _login(attacker, "/accounts/login/", "victim", PASSWORD, REMOTE_ADDR=ATTACKER)

    assert listing.status_code == 200
    assert ATTACKER.encode() in listing.content and b"victim" in listing.content
    assert b"Locked Out" in listing.content
    assert cleared.status_code == 302 and not AccessAttempt.objects.exists()
    assert after.status_code == 302


def test_the_admins_clean_up_action_removes_only_expired_attempts(client, victim, administrator):
    attacker = type(client)()
    with time_machine.travel(timezone.now() - timedelta(hours=1)):
        _login(attacker, "/accounts/login/", "victim", "old", REMOTE_ADDR=ELSEWHERE)
    _login(attacker, "/accounts/login/", "victim", "new", REMOTE_ADDR=ATTACKER)
    client.force_login(administrator)

    response = client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {
            "action": "cleanup_expired_attempts",
            "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
        },
    )

    assert response.status_code == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ATTACKER]
