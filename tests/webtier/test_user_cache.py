"""A signed-in reader's user comes from Redis (webtier/users.py): a warm cached page needs no
database, and every change to a user reaches their next page at once."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.cache import cache
from django.db import connections
from django.db.backends.signals import connection_created
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from blog import roles
from tests.blog.test_admin_users import change_url, user_form
from tests.factories import PASSWORD, make_post
from tests.webtier.test_page_holes import _TOKEN, page_cache  # noqa: F401 (autouse)

# The user's stamp is written on commit.
pytestmark = pytest.mark.django_db(transaction=True)


def _logged_in(username: str) -> Client:
    """A browser where `username` signed in with their password (the login form's way)."""
    client = Client(enforce_csrf_checks=True)
    assert client.login(username=username, password=PASSWORD)
    return client


def _page(client, url) -> tuple:
    response = client.get(url)
    client.cookies.pop("cb_pin", None)  # a write's pin keeps no one from the cache here
    return response, response.content.decode()


def _post_form(client, url, data) -> object:
    token = _TOKEN.search(client.get(url).content.decode())[1]
    response = client.post(url, {**data, "csrfmiddlewaretoken": token})
    client.cookies.pop("cb_pin", None)
    return response


def test_a_warm_signed_in_page_opens_no_database_connection(author, subscriber, settings):
    settings.CACHE_EPOCH_TTL = 600  # the epoch's own re-read is not the page's cost
    post = make_post(author, title="Warm")
    sue = _logged_in("sue")
    for url in ("/", post.get_absolute_url()):
        _page(sue, url)
        opened = []
        connection_created.connect(opened.append)
        try:
            with CaptureQueriesContext(connections["default"]) as queries:
                response, html = _page(sue, url)
        finally:
            connection_created.disconnect(opened.append)

        assert response["X-Cache"] == "HIT" and "Signed in as sue" in html
        assert len(queries) == 0 and opened == []


def test_changing_the_password_signs_out_the_other_browser_but_not_this_one(author, subscriber):
    post = make_post(author)
    laptop, phone = _logged_in("sue"), _logged_in("sue")
    assert "Commenting as sue." in _page(phone, post.get_absolute_url())[1]

    new = "a-new-long-phrase-42"
    changed = _post_form(
        laptop,
        reverse("blog:password-change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert changed.status_code == 302
    response, html = _page(phone, post.get_absolute_url())
    assert response["X-Cache"] == "HIT"
    assert "sue" not in html and "Log in" in html and 'name="email"' in html
    assert "Commenting as sue." in _page(laptop, post.get_absolute_url())[1]


def test_a_deactivated_reader_is_signed_out_at_their_next_page(author, administrator, subscriber):
    post = make_post(author)
    sue, ada = _logged_in("sue"), _logged_in("ada")
    assert "Signed in as sue" in _page(sue, post.get_absolute_url())[1]

    saved = _post_form(ada, change_url(subscriber), user_form(subscriber, is_active=""))

    assert saved.status_code == 302
    html = _page(sue, post.get_absolute_url())[1]
    assert "sue" not in html and "Log in" in html


def test_a_role_change_shows_and_hides_staff_controls_at_once(author, administrator, subscriber):
    post = make_post(author)
    sue, ada = _logged_in("sue"), _logged_in("ada")
    html = _page(sue, post.get_absolute_url())[1]
    assert "Dashboard" not in html and "Edit this post" not in html

    _post_form(ada, change_url(subscriber), user_form(subscriber, role=roles.EDITOR))
    response, html = _page(sue, post.get_absolute_url())
    assert response["X-Cache"] == "HIT"
    assert "Dashboard" in html and "Edit this post" in html

    _post_form(ada, change_url(subscriber), user_form(subscriber, role=roles.SUBSCRIBER))
    html = _page(sue, post.get_absolute_url())[1]
    assert "Dashboard" not in html and "Edit this post" not in html


def test_taking_a_permission_from_a_role_reaches_its_members_at_once(author, editor, administrator):
    post = make_post(author)
    edith, ada = _logged_in("edith"), _logged_in("ada")
    assert "Edit this post" in _page(edith, post.get_absolute_url())[1]
    group = Group.objects.get(name=roles.EDITOR)
    kept = group.permissions.exclude(codename__in=["change_post", "edit_others_posts"])

    saved = _post_form(
        ada,
        reverse("admin:auth_group_change", args=[group.pk]),
        {"name": group.name, "permissions": [str(p.pk) for p in kept]},
    )

    assert saved.status_code == 302
    assert not Group.objects.get(name=roles.EDITOR).permissions.filter(codename="change_post")
    response, html = _page(edith, post.get_absolute_url())
    assert response["X-Cache"] == "HIT" and "Dashboard" in html and "Edit this post" not in html


@pytest.fixture
def redis_commands(monkeypatch):
    """The commands this process sends to Redis (each a round trip), passed on unchanged."""
    import redis

    sent, send = [], redis.Redis.execute_command

    def counting(self, *args, **options):
        sent.append(args[0])
        return send(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    return sent


def test_a_warm_signed_in_page_reads_redis_twice(author, subscriber, settings, redis_commands):
    settings.CACHE_EPOCH_TTL = 600
    post = make_post(author)
    sue = _logged_in("sue")
    _page(sue, post.get_absolute_url())
    redis_commands.clear()

    response, html = _page(sue, post.get_absolute_url())

    assert response["X-Cache"] == "HIT" and "Commenting as sue." in html
    # The page and the session in one MGET, then the user's row and its stamps.
    assert redis_commands == ["MGET", "MGET"]


def test_a_session_only_in_the_database_still_signs_the_reader_in(author, subscriber):
    post = make_post(author)
    sue = _logged_in("sue")
    _page(sue, post.get_absolute_url())
    cache.delete(SessionStore(sue.cookies["sessionid"].value).cache_key)  # evicted from Redis

    response, html = _page(sue, post.get_absolute_url())

    assert response["X-Cache"] == "HIT" and "Commenting as sue." in html


def test_a_reader_deleted_in_the_admin_is_signed_out_at_once(author, administrator, subscriber):
    post = make_post(author)
    sue, ada = _logged_in("sue"), _logged_in("ada")
    assert "Signed in as sue" in _page(sue, post.get_absolute_url())[1]

    url = reverse("admin:auth_user_delete", args=[subscriber.pk])
    deleted = _post_form(ada, url, {"post": "yes"})

    assert deleted.status_code == 302
    html = _page(sue, post.get_absolute_url())[1]
    assert "sue" not in html and "Log in" in html
