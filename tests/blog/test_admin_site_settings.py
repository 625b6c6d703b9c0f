"""Blog → Site settings in the admin: one page, for administrators only, that the
whole site follows."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from blog.models import Post
from tests.factories import make_post

pytestmark = pytest.mark.django_db

LIST = "/admin/blog/sitesettings/"
PAGE = "/admin/blog/sitesettings/1/change/"


def _form(**changes) -> dict:
    values = {
        "title": settings.SITE_NAME,
        "description": settings.SITE_TAGLINE,
        "email": "admin@example.com",
        "language": "en_US",
        "timezone": "UTC",
        "date_format": "j F Y",
        "time_format": "H:i",
        "start_of_week": "1",
        "posts_per_page": "10",
        "default_comment_status": "open",
        "default_ping_status": "closed",
        "default_category": "",
        "_save": "Save",
    }
    return {**values, **changes}


def test_the_list_opens_the_one_settings_page_with_the_values_in_force(client, administrator):
    client.force_login(administrator)
    opened = client.get(LIST)
    assert opened.status_code == 302 and opened["Location"] == PAGE
    page = client.get(PAGE).content.decode()
    assert f'value="{settings.SITE_NAME}"' in page and f'value="{settings.SITE_TAGLINE}"' in page
    assert 'class="deletelink"' not in page and 'name="_addanother"' not in page


def test_an_administrator_saves_settings_and_the_site_follows(client, administrator, author):
    make_post(author, title="Open thread")
    client.force_login(administrator)
    saved = client.post(
        PAGE, _form(title="Tide Tables", description="Low water", default_comment_status="closed")
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    home = Client().get("/").content.decode()
    assert "<title>Tide Tables</title>" in home and "Low water" in home
    assert "Tide Tables" in Client().get("/wp-json/").json()["name"]
    created = Post.objects.create(author=author, title="New after the change", slug="new-one")
    assert created.comment_status == "closed"
    assert client.get(PAGE).content.decode().count('value="Tide Tables"') == 1


def test_a_bad_value_shows_on_the_form_and_changes_nothing(client, administrator):
    client.force_login(administrator)
    refused = client.post(PAGE, _form(title="Not saved", timezone="Atlantis/Capital"))
    assert refused.status_code == 200 and "is not a time zone name" in refused.content.decode()
    refused = client.post(PAGE, _form(title="Not saved", posts_per_page="0"))
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()
    assert "Not saved" not in Client().get("/").content.decode()


def test_only_administrators_see_or_change_site_settings(client, editor):
    client.force_login(editor)
    assert client.get(LIST).status_code == 403
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, _form(title="Editor's name")).status_code == 403
    assert "Site settings" not in client.get("/admin/").content.decode()
    assert "Editor&#x27;s name" not in Client().get("/").content.decode()
