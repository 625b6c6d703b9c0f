"""The editor's media chooser list (GET /admin/media_library/mediaitem/chooser/): who sees
what, search, the month filter, "only mine", and paging."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from media_library.models import MediaItem
from tests.factories import PASSWORD
from tests.media_library.test_upload import image_bytes, upload

pytestmark = pytest.mark.django_db

CHOOSER = reverse("admin:media_library_mediaitem_chooser")


def as_user(client, user):
    client.logout()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def add(client, user, name: str, color, **fields) -> int:
    response = upload(as_user(client, user), image_bytes((320, 240), color=color), name, **fields)
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.fixture
def library(client, author, other_author, editor):
    return {
        "roses": add(client, author, "roses.jpg", (200, 10, 10), alt_text="Red roses"),
        "tulips": add(client, author, "tulips.jpg", (200, 200, 10)),
        "ford": add(client, other_author, "towel.jpg", (10, 10, 200)),
        "edith": add(client, editor, "desk.jpg", (10, 200, 10)),
    }


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(item["title"] for item in response.json()["items"])


def test_an_author_sees_only_their_own_uploads(client, author, library):
    data = as_user(client, author).get(CHOOSER).json()
    assert sorted(i["title"] for i in data["items"]) == ["roses", "tulips"]
    assert data["sees_all"] is False
    assert data["can_upload"] is True
    roses = next(i for i in data["items"] if i["title"] == "roses")
    assert roses["markdown"] == f"![Red roses](media:{library['roses']})"
    assert roses["thumbnail"].startswith("/media/")


def test_only_mine_cannot_widen_an_authors_view(client, other_author, library):
    assert titles(as_user(client, other_author).get(CHOOSER, {"mine": "0"})) == ["towel"]


def test_an_editor_sees_everyones_and_can_narrow_to_their_own(client, editor, library):
    as_user(client, editor)
    assert titles(client.get(CHOOSER)) == ["desk", "roses", "towel", "tulips"]
    assert client.get(CHOOSER).json()["sees_all"] is True
    assert titles(client.get(CHOOSER, {"mine": "1"})) == ["desk"]


def test_search_matches_title_alt_text_and_caption(client, author, library):
    as_user(client, author)
    assert titles(client.get(CHOOSER, {"q": "red"})) == ["roses"]
    assert titles(client.get(CHOOSER, {"q": "tulip"})) == ["tulips"]
    assert titles(client.get(CHOOSER, {"q": "towel"})) == []  # someone else's


def test_month_filter_and_the_months_offered(client, author, library):
    old = timezone.make_aware(datetime(2024, 3, 15, 12, 0))
    MediaItem.objects.filter(pk=library["tulips"]).update(created_at=old)
    as_user(client, author)
    data = client.get(CHOOSER).json()
    now = timezone.localtime()
    assert data["months"] == [
        {"value": f"{now:%Y-%m}", "label": f"{now:%B %Y}"},
        {"value": "2024-03", "label": "March 2024"},
    ]
    assert titles(client.get(CHOOSER, {"month": "2024-03"})) == ["tulips"]
    assert titles(client.get(CHOOSER, {"month": "nonsense"})) == ["roses", "tulips"]


def test_pages_of_forty(client, author, library):
    first = MediaItem.objects.get(pk=library["roses"])
    MediaItem.objects.bulk_create(
        MediaItem(
            title=f"copy {n}",
            uploaded_by=author,
            sha256=f"{n:064d}",
            renditions=first.renditions,
            file=first.file.name,
            created_at=first.created_at - timedelta(minutes=n),
        )
        for n in range(45)
    )
    as_user(client, author)
    page_one = client.get(CHOOSER).json()
    assert (len(page_one["items"]), page_one["has_next"], page_one["total"]) == (40, True, 47)
    page_two = client.get(CHOOSER, {"page": "2"}).json()
    assert (len(page_two["items"]), page_two["has_next"]) == (7, False)


def test_a_contributor_may_not_use_the_library(client, contributor, library):
    response = as_user(client, contributor).get(CHOOSER)
    assert response.status_code == 403
    assert response.json()["error"] == "You may not use the media library."


def test_the_chooser_is_for_signed_in_staff_only(client, library):
    client.logout()
    assert client.get(CHOOSER).status_code == 302


def alt_text_url(pk: int) -> str:
    return reverse("admin:media_library_mediaitem_alt_text", args=[pk])


def test_alt_text_asked_in_the_chooser_is_kept_on_the_item(client, author, library):
    listed = as_user(client, author).get(CHOOSER, {"q": "tulips"}).json()["items"][0]
    assert listed["alt_text"] == "" and listed["alt_text_url"] == alt_text_url(library["tulips"])

    response = client.post(listed["alt_text_url"], {"alt_text": "  Yellow tulips in a jug "})

    assert response.status_code == 200, response.content
    assert MediaItem.objects.get(pk=library["tulips"]).alt_text == "Yellow tulips in a jug"
    again = client.get(CHOOSER, {"q": "tulips"}).json()["items"][0]
    assert again["alt_text"] == "Yellow tulips in a jug"  # so it is not asked again


def test_an_author_cannot_set_the_alt_text_of_someone_elses_item(client, author, library):
    response = as_user(client, author).post(
        alt_text_url(library["ford"]), {"alt_text": "Not mine to describe"}
    )
    assert response.status_code == 404  # not in their library at all
    assert MediaItem.objects.get(pk=library["ford"]).alt_text == ""


def test_an_editor_may_describe_anyones_item_and_a_contributor_no_one(
    client, editor, contributor, library
):
    assert (
        as_user(client, editor)
        .post(alt_text_url(library["ford"]), {"alt_text": "A towel"})
        .status_code
        == 200
    )
    assert MediaItem.objects.get(pk=library["ford"]).alt_text == "A towel"

    response = as_user(client, contributor).post(
        alt_text_url(library["tulips"]), {"alt_text": "Tulips"}
    )
    assert response.status_code in (403, 404)
    assert MediaItem.objects.get(pk=library["tulips"]).alt_text == ""
