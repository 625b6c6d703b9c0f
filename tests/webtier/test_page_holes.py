"""Signed-in readers get the shared cached page with their own bits filled in (holes)."""

from __future__ import annotations

import re
import time

import pytest
import time_machine
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from blog.models import Comment, Post
from blog.services import post_write
from tests.factories import PASSWORD, make_comment, make_post
from webtier import holes
from webtier.cache import reset_breaker

# The page cache's generation is bumped on commit.
pytestmark = pytest.mark.django_db(transaction=True)

_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def page_cache(settings):
    if "Redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("the page cache needs REDIS_URL (make test sets it)")
    settings.PAGE_CACHE_SECONDS = 300
    settings.READ_YOUR_WRITES_SECONDS = 0
    reset_breaker()


def _signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _get(client, url):
    response = client.get(url)
    return response, response.content.decode()


def test_a_subscriber_gets_the_cached_page_with_their_name_and_token(author, subscriber):
    post = make_post(author, title="Shared today")
    anonymous = _get(Client(), post.get_absolute_url())[1]

    response, html = _get(_signed_in(subscriber), post.get_absolute_url())

    assert response["X-Cache"] == "HIT"  # rendered once, for the anonymous reader
    assert "Shared today" in html and "Commenting as sue." in html and "Signed in as sue" in html
    assert _TOKEN.search(html) and 'name="email"' not in html
    assert "private" in response["Cache-Control"] and "Cookie" in response["Vary"]
    # ...and what the anonymous reader got has none of it.
    assert "csrfmiddlewaretoken" not in anonymous and "sue" not in anonymous
    assert 'name="email"' in anonymous and "Log in" in anonymous


def test_two_readers_get_their_own_tokens_from_one_cached_page(author, subscriber, stranger):
    post = make_post(author)
    sue, other = _signed_in(subscriber), _signed_in(stranger)
    first, sue_page = _get(sue, post.get_absolute_url())
    second, other_page = _get(other, post.get_absolute_url())

    assert first["X-Cache"] == "MISS" and second["X-Cache"] == "HIT"
    assert "Commenting as sue." in sue_page and "Commenting as stranger." in other_page
    sue_token, other_token = _TOKEN.search(sue_page)[1], _TOKEN.search(other_page)[1]
    assert sue_token != other_token
    comment_url = reverse("blog:comment-post", args=[post.pk])
    # Each token works for its own reader only.
    forged = other.post(comment_url, {"body": "Forged", "csrfmiddlewaretoken": sue_token})
    assert forged.status_code == 403
    mine = other.post(comment_url, {"body": "Mine", "csrfmiddlewaretoken": other_token})
    assert mine.status_code == 302 and Comment.objects.filter(body="Mine").exists()


def test_editors_see_edit_links_and_the_dashboard_subscribers_do_not(author, editor, subscriber):
    post = make_post(author)
    page = make_post(author, kind=Post.Kind.PAGE, title="About us")
    for url in ("/", post.get_absolute_url(), page.get_absolute_url()):
        _get(Client(), url)

    _, as_editor = _get(_signed_in(editor), post.get_absolute_url())
    response, as_subscriber = _get(_signed_in(subscriber), post.get_absolute_url())
    _, editor_on_page = _get(_signed_in(editor), page.get_absolute_url())
    _, author_home = _get(_signed_in(author), "/")

    assert response["X-Cache"] == "HIT"
    assert f'href="/admin/blog/post/{post.pk}/change/">Edit this post' in as_editor
    assert "Dashboard" in as_editor and "Edit this page" in editor_on_page
    assert "Edit this" not in as_subscriber and "Dashboard" not in as_subscriber
    assert "Dashboard" in author_home


def test_a_signed_in_page_view_costs_no_query_on_a_warm_cache(
    author, subscriber, settings, django_assert_num_queries
):
    settings.CACHE_EPOCH_TTL = 600  # the epoch's own re-read is not the page's cost
    post = make_post(author)
    make_comment(post, body="First!")
    sue = Client(enforce_csrf_checks=True)
    assert sue.login(username="sue", password=PASSWORD)  # as the login form signs in
    for url in ("/", post.get_absolute_url()):
        _get(sue, url)

        with django_assert_num_queries(0):  # the session and the user's row are in Redis
            response, html = _get(sue, url)

        assert response["X-Cache"] == "HIT" and "sue" in html


def test_the_filled_page_is_the_page_rendered_whole_for_that_reader(author, editor, settings):
    post = make_post(author)
    make_comment(post, body="A thread")
    reader = _signed_in(editor)
    _get(reader, post.get_absolute_url())
    filled = _get(reader, post.get_absolute_url())

    settings.PAGE_CACHE_SECONDS = 0
    whole = _get(reader, post.get_absolute_url())

    assert filled[0]["X-Cache"] == "HIT" and "X-Cache" not in whole[0]
    assert _TOKEN.sub("", filled[1]) == _TOKEN.sub("", whole[1])


def test_marker_text_in_content_never_becomes_a_hole(author, subscriber):
    """Each render marks its holes with a token of its own: content cannot know it."""
    forged = "<!--hole:{}:0-->anonymous<!--/hole:{}:0-->".format(*["0" * 24] * 2)
    post = make_post(author, title=forged)
    post.body_html = f"<p>{forged}</p>"  # past the sanitizer, which drops comments anyway
    post.save(update_fields=["body_html"])

    anonymous = _get(Client(), post.get_absolute_url())[1]
    response, html = _get(_signed_in(subscriber), post.get_absolute_url())

    assert response["X-Cache"] == "HIT"
    for page in (anonymous, html):
        assert "&lt;!--hole:000" in page  # the title, escaped
        assert f"<p>{forged}</p>" in page  # the body, left as it was
    assert html.count("Signed in as sue") == 1 and "<!--hole:" not in html.replace(forged, "")


def test_a_recorded_page_is_cut_only_at_its_own_markers():
    recorder = holes.Recorder()
    mine = recorder.wrap("account-link", {}, "Log in")
    forged = f"<!--hole:{'f' * 24}:0-->x<!--/hole:{'f' * 24}:0-->"
    response = HttpResponse(f"<p>{forged}</p>{mine}")

    shared = holes.cut(recorder, response)

    assert response.content.decode() == f"<p>{forged}</p>Log in"
    assert shared["parts"] == [f"<p>{forged}</p>".encode(), b""]
    assert shared["holes"] == [("account-link", {}, b"Log in")]


def test_a_reader_who_just_wrote_sees_their_comment_and_message_in_full(
    author, subscriber, settings
):
    settings.READ_YOUR_WRITES_SECONDS = 5
    post = make_post(author)
    sue = _signed_in(subscriber)
    _get(sue, post.get_absolute_url())
    token = _TOKEN.search(_get(sue, post.get_absolute_url())[1])[1]

    response = sue.post(
        reverse("blog:comment-post", args=[post.pk]),
        {"body": "My first words", "csrfmiddlewaretoken": token},
        follow=True,
    )

    # Held for moderation: the notice is shown, from a page rendered for this reader.
    assert "awaiting moderation" in response.content.decode()
    assert "X-Cache" not in response


def test_a_pin_past_its_window_no_longer_keeps_a_reader_from_the_cache(
    author, subscriber, settings
):
    """A client may keep sending the pin cookie after it expired: it no longer counts."""
    settings.READ_YOUR_WRITES_SECONDS = 5
    post = make_post(author)
    sue = _signed_in(subscriber)
    token = _TOKEN.search(_get(sue, post.get_absolute_url())[1])[1]
    url = reverse("blog:comment-post", args=[post.pk])
    sue.post(url, {"body": "Hello", "csrfmiddlewaretoken": token}, follow=True)
    assert "X-Cache" not in sue.get(post.get_absolute_url())  # within the window

    with time_machine.travel(time.time() + 6):
        response = sue.get(post.get_absolute_url())

    assert "cb_pin" in sue.cookies and response["X-Cache"] == "HIT"


def test_a_signed_in_reader_with_a_message_gets_the_page_in_full(author, subscriber, settings):
    # Kept in the session, where the page cache cannot see it coming (no cookie says so).
    settings.MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
    post = make_post(author)
    sue = _signed_in(subscriber)
    _get(sue, post.get_absolute_url())
    session = sue.session
    session["_messages"] = '[["__json_message",0,20,"Saved for you"]]'
    session.save()

    response, html = _get(sue, post.get_absolute_url())

    assert "Saved for you" in html and "X-Cache" not in response


def test_an_unlocked_password_post_never_goes_through_the_shared_page(author, subscriber):
    post = make_post(author, password="open sesame", body="The secret text")
    anonymous = Client()
    assert "The secret text" not in _get(anonymous, post.get_absolute_url())[1]
    sue = _signed_in(subscriber)
    token = _TOKEN.search(_get(sue, post.get_absolute_url())[1])[1]

    sue.post(
        reverse("blog:post-unlock", args=[post.pk]),
        {"password": "open sesame", "csrfmiddlewaretoken": token},
    )
    sue.cookies.pop("cb_pin", None)  # past the read-your-writes window
    response, html = _get(sue, post.get_absolute_url())

    assert "The secret text" in html and "X-Cache" not in response
    response, html = _get(anonymous, post.get_absolute_url())
    assert "The secret text" not in html
    assert "The secret text" not in _get(_signed_in(author), "/")[1]


def test_a_private_post_reaches_its_readers_but_never_the_shared_page(author, editor, subscriber):
    post = make_post(author, status=Post.Status.PRIVATE, body="Only for us")

    assert Client().get(post.get_absolute_url()).status_code == 404
    for reader in (author, editor):
        response, html = _get(_signed_in(reader), post.get_absolute_url())
        assert response.status_code == 200 and "Only for us" in html
    assert _signed_in(subscriber).get(post.get_absolute_url()).status_code == 404
    assert Client().get(post.get_absolute_url()).status_code == 404


def test_a_change_reaches_signed_in_readers_of_the_cached_page_at_once(author, subscriber):
    post = make_post(author, title="Before")
    sue = _signed_in(subscriber)
    _get(sue, post.get_absolute_url())

    post.title = "After"
    post_write(post=post, by=author)

    assert "After" in _get(sue, post.get_absolute_url())[1]
    assert "After" in _get(sue, "/")[1]


def test_holes_in_a_shared_fragment_show_the_anonymous_version(rf, subscriber):
    from django.template import engines

    from webtier.page_cache import cached_fragment

    template = engines["django"].from_string(
        '{% load holes %}{% hole "account-link" %}Log in{% endhole %}'
    )
    request = rf.get("/")
    request.user = subscriber

    assert str(template.render({}, request)).startswith("Signed in as sue")
    shared = cached_fragment("probe", lambda: template.render({}, request))
    assert shared == "Log in"


def test_the_login_form_still_works_for_a_reader_of_cached_pages(author, subscriber):
    post = make_post(author)
    visitor = Client(enforce_csrf_checks=True)
    _get(visitor, post.get_absolute_url())
    form = _get(visitor, reverse("blog:login"))[1]

    response = visitor.post(
        reverse("blog:login"),
        {"username": "sue", "password": PASSWORD, "csrfmiddlewaretoken": _TOKEN.search(form)[1]},
    )
    visitor.cookies.pop("cb_pin", None)

    assert response.status_code == 302
    response, html = _get(visitor, post.get_absolute_url())
    assert response["X-Cache"] == "HIT" and "Commenting as sue." in html
