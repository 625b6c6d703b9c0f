"""Admin bookmarks from before the restructure still land on the same page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/admin/blog/mediaitem/", "/admin/media_library/mediaitem/"),
        ("/admin/blog/mediaitem/7/change/", "/admin/media_library/mediaitem/7/change/"),
        ("/admin/blog/mediaitem/?q=sunset&o=2", "/admin/media_library/mediaitem/?q=sunset&o=2"),
        ("/admin/blog/taskrun/", "/admin/worker/taskrun/"),
    ],
)
def test_an_old_admin_address_of_a_moved_model_redirects_permanently(client, old, new):
    response = client.get(old)

    assert response.status_code == 301
    assert response["Location"] == new


def test_the_redirect_lands_on_the_page_for_a_signed_in_administrator(admin_client):
    response = admin_client.get("/admin/blog/mediaitem/", follow=True)

    assert response.redirect_chain == [("/admin/media_library/mediaitem/", 301)]
    assert response.status_code == 200


def test_admin_pages_of_models_still_in_blog_are_untouched(admin_client):
    assert admin_client.get("/admin/blog/post/").status_code == 200
