"""The site's icon: browsers ask /favicon.ico on their own, and every page links it."""

from __future__ import annotations

import pytest
from django.templatetags.static import static

pytestmark = pytest.mark.django_db


def test_favicon_ico_answers_with_an_icon_not_a_redirect_to_a_404(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/vnd.microsoft.icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    assert "max-age=86400" in response["Cache-Control"]
    assert client.head("/favicon.ico").status_code == 200
    assert client.post("/favicon.ico").status_code == 405


def test_the_site_and_the_admin_link_the_same_icon(client, author):
    link = f'<link rel="icon" href="{static("favicon.ico")}"'
    assert link in client.get("/").content.decode()
    assert link in client.get("/admin/login/").content.decode()
    client.force_login(author)
    assert link in client.get("/admin/blog/post/").content.decode()
