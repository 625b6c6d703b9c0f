"""The site search as a visitor uses it: /search/?q=..., answered from the postings.

The postings are ordinary rows (no FULLTEXT, which InnoDB applies only at commit), so
these tests run inside a rolled-back transaction like the rest. The same search on
SQLite is driven in tests/blog/test_search_sqlite.py.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from blog import services
from blog.models import Post, SearchEntry, SearchPosting, SearchTerm
from blog.searchtext import highlight, parse_query
from blog.services import search as search_service
from tests.blog.test_sanitization import _all_payloads, active_content
from tests.factories import make_page, make_post

pytestmark = pytest.mark.django_db


def _search(client, q, **params) -> str:
    response = client.get(reverse("blog:search"), {"q": q, **params})
    assert response.status_code == 200, (q, response.status_code)
    return response.content.decode()


def _titles(html: str) -> list[str]:
    """The titles of the results, in order, as text (the <mark>s dropped)."""
    return [
        strip_tags(h2)
        for h2 in re.findall(r'<article class="post-summary.*?<h2>(.*?)</h2>', html, re.S)
    ]


def test_title_matches_come_first_with_the_words_marked(client, author):
    make_post(author, title="Paddling notes", body="We took the kayak out at dawn, twice.")
    make_post(author, title="Kayak season", body="A short one.")
    make_post(author, title="Hiking", body="No boats at all.")
    make_page(author, title="Kayak page", body="Pages are not in the site search.")

    html = _search(client, "kayak")

    assert _titles(html) == ["Kayak season", "Paddling notes"]
    assert "<mark>Kayak</mark> season" in html
    assert "took the <mark>kayak</mark> out" in html
    assert '<meta name="robots" content="noindex, follow">' in html


def test_only_published_text_matches_and_a_password_hides_all_but_the_title(client, author):
    now = timezone.now()
    make_post(author, title="Draft walrus", status=Post.Status.DRAFT)
    make_post(author, title="Pending walrus", status=Post.Status.PENDING)
    make_post(author, title="Private walrus", status=Post.Status.PRIVATE)
    make_post(author, title="Trashed walrus", status=Post.Status.TRASH)
    make_post(
        author, title="Scheduled walrus", status=Post.Status.FUTURE,
        published_at=now + timedelta(days=1),
    )  # fmt: skip
    make_post(
        author, title="Locked diary", body="The combination is marmalade.",
        excerpt="Quokka sightings.", password="opensesame",
    )  # fmt: skip
    make_post(author, title="Open notes", body="Marmalade recipes.", excerpt="Quokka photos.")
    make_post(author, title="Public walrus")

    assert _titles(_search(client, "walrus")) == ["Public walrus"]
    assert _titles(_search(client, "draft")) == []
    by_title = _search(client, "diary")
    assert _titles(by_title) == ["Locked diary"] and "marmalade" not in by_title.lower()
    for q in ("marmalade", "quokka", "combination", "locked combination", '"combination is"'):
        assert "Locked diary" not in _titles(_search(client, q)), q
    assert _titles(_search(client, "marmalade")) == ["Open notes"]
    # Password-protected posts have only their title in the index, drafts nothing at all.
    entries = dict(SearchEntry.objects.values_list("title", "text"))
    assert entries["Locked diary"] == "" and "Draft walrus" not in entries


def test_the_index_follows_publishing_trashing_and_editing(client, author, editor):
    draft = make_post(author, title="Otter census", body="Twelve otters.", status="draft")
    assert "Otter census" not in _search(client, "otters")

    services.post_publish(post=draft, by=editor)
    assert "Otter census" in _search(client, "otters")

    draft.body, draft.password = "Twelve otters and a heron.", "secret"
    services.post_write(post=draft, by=editor)
    assert "Otter census" not in _search(client, "heron")
    assert "Otter census" in _search(client, "census")

    services.post_trash(post=draft, by=editor)
    assert "Otter census" not in _search(client, "census")
    services.post_restore(post=draft, by=editor)
    assert "Otter census" in _search(client, "census")


def test_a_scheduled_post_is_found_once_its_time_comes(client, author):
    post = make_post(
        author, title="Eclipse tonight", status=Post.Status.FUTURE,
        published_at=timezone.now() + timedelta(hours=1),
    )  # fmt: skip
    assert "Eclipse tonight" not in _search(client, "eclipse")

    # No job runs at the scheduled time: the entry carries the date and waits for it.
    Post.objects.filter(pk=post.pk).update(published_at=timezone.now() - timedelta(minutes=1))
    SearchEntry.objects.filter(pk=post.pk).update(
        published_at=timezone.now() - timedelta(minutes=1)
    )
    SearchPosting.objects.filter(post_id=post.pk).update(
        published_at=timezone.now() - timedelta(minutes=1)
    )

    assert "Eclipse tonight" in _search(client, "eclipse")


def test_phrases_prefixes_and_every_word_required(client, author):
    make_post(author, title="Sea kayak", body="A sea kayak is long and narrow.")
    make_post(author, title="Kayak by the sea", body="Our kayak went out to sea.")
    make_post(author, title="Kayaking for beginners", body="Start on a lake.")

    phrase = _search(client, '"sea kayak is"')
    prefix = _search(client, "kayaki*")
    whole_words = _search(client, "kayaki")
    both = _search(client, "kayaking lake")
    apart = _search(client, "sea lake")

    assert _titles(phrase) == ["Sea kayak"]
    assert "<mark>sea kayak is</mark>" in phrase
    assert _titles(prefix) == ["Kayaking for beginners"] and _titles(whole_words) == []
    assert _titles(both) == ["Kayaking for beginners"] and _titles(apart) == []


@pytest.mark.parametrize(
    "q",
    ["", " ", "a", "+", "-", "*", '"', "()", "~", "<", ">", "@", '+-*"()~<>@', "the",
     '"unclosed phrase', "kayak*", "-kayak", "+kayak +", "@kayak", "(kayak", "kayak)",
     ">kayak <kayak", "~kayak", '"" kayak', "x" * 500, "kayak " * 300, "ê" * 100,
     "%", "_", "\\", "'; DROP TABLE blog_post; --", "\x00kayak", "カヤック"],
)  # fmt: skip
def test_odd_queries_never_fail(client, author, q):
    make_post(author, title="Kayak", body="Sea kayak.")

    html = _search(client, q)

    # A NUL makes the form invalid (Django refuses it in any text field): no search.
    wanted = "kayak" in q.lower() and "\x00" not in q
    assert _titles(html) == (["Kayak"] if wanted else []), q


def test_words_the_index_cannot_look_up_get_a_hint(client, author):
    make_post(author, title="The go language", body="Go is fine.")

    html = _search(client, "go")

    if connection.vendor == "mysql":  # InnoDB skips words under three letters and "the"
        assert "three letters or more" in html and _titles(html) == []
    assert _titles(_search(client, "language")) == ["The go language"]


def test_results_paginate(client, author, settings):
    settings.POSTS_PER_PAGE = 3
    for n in range(7):
        make_post(author, title=f"Tide table {n}", published_at=timezone.now() - timedelta(hours=n))

    first = _search(client, "tide")
    third = _search(client, "tide", page=3)

    assert "Page 1 of 3" in first and "q=tide&amp;page=2" in first
    assert "Tide table 6" in third and "Page 3 of 3" in third
    assert client.get(reverse("blog:search"), {"q": "tide", "page": 4}).status_code == 404


def test_a_word_in_many_posts_gets_about_a_count_and_a_rare_one_an_exact_count(
    client, author, monkeypatch
):
    for n in range(5):
        make_post(author, title=f"Harbour note {n}", body="Boats." if n else "Boats and gulls.")

    assert "5 posts found" in _search(client, "harbour")
    assert "1 post found" in _search(client, "gulls")
    # Above EXACT_COUNT_UP_TO entries the count is the word's kept count of entries.
    monkeypatch.setattr(search_service, "EXACT_COUNT_UP_TO", 3)
    assert "About 5 posts found" in _search(client, "harbour")
    assert "1 post found" in _search(client, "gulls harbour")  # the rarer word is walked


def test_the_word_counts_and_postings_follow_edits_and_trashing(client, author, editor):
    post = make_post(author, title="Lantern repair", body="Wicks and glass.")
    make_post(author, title="Lantern festival", body="Paper and light.")
    assert "2 posts found" in _search(client, "lantern")

    post.body = "Oil and brass."
    services.post_write(post=post, by=author)
    services.post_trash(post=Post.objects.get(title="Lantern festival"), by=editor)

    assert _titles(_search(client, "wicks")) == [] and "Nothing matched" in _search(client, "wicks")
    assert _titles(_search(client, "brass")) == ["Lantern repair"]
    assert "1 post found" in _search(client, "lantern")
    assert SearchTerm.objects.get(term="lantern").entries == 1
    assert not SearchTerm.objects.filter(term="wicks", entries__gt=0).exists()


def test_best_posts_first_then_newest_on_every_page(client, author, settings):
    settings.POSTS_PER_PAGE = 2
    now = timezone.now()
    make_post(author, title="Notes", body="ferry " * 8, published_at=now - timedelta(days=9))
    for n in range(3):
        make_post(
            author, title=f"Ferry {n}", body="Crossings.", published_at=now - timedelta(days=n)
        )
    make_post(author, title="Diary", body="A ferry, once.", published_at=now)

    pages = [_titles(_search(client, "ferry", page=n)) for n in (1, 2, 3)]

    # Title hits first (newest first among equals), then the text that says it most.
    assert pages == [["Ferry 0", "Ferry 1"], ["Ferry 2", "Notes"], ["Diary"]]


def test_a_search_costs_the_same_queries_with_few_or_many_matches(client, author, steady_epoch):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("blog:search"), {"q": "gardening"}).status_code == 200
        return len(captured)

    make_post(author, title="Gardening 0")
    few = queries()
    Post.objects.bulk_create(
        Post(author=author, title=f"Gardening {n}", slug=f"g-{n}", status="publish",
             published_at=timezone.now() - timedelta(hours=n), body_html="<p>Soil.</p>")
        for n in range(1, 40)
    )  # fmt: skip
    services.search_entries_rebuild()
    many = queries()

    # 8, the words' counts (blog.SearchTerm), the site settings, and the sidebar's months
    # and their stamp (blog/listing.py)
    assert few == many <= 12
    assert "Page 1 of 4" in _search(client, "gardening")


def test_search_rebuild_command_restores_a_lost_index(client, author):
    make_post(author, title="Lighthouse keepers")
    make_post(author, title="Lighthouse draft", status=Post.Status.DRAFT)
    SearchEntry.objects.all().delete()
    assert "Lighthouse keepers" not in _search(client, "lighthouse")

    call_command("search_rebuild", verbosity=0)

    assert "Lighthouse keepers" in _search(client, "lighthouse")
    assert SearchEntry.objects.count() == 1


def test_post_text_in_results_is_shown_as_text(client, author):
    payload = '<img src=x onerror=alert(1)>"><script>alert(1)</script> kayak'
    make_post(author, title=payload, body="x", body_format=Post.Format.HTML)
    make_post(
        author, title="Plain", body="<p>kayak &lt;script&gt;alert(2)&lt;/script&gt;</p>",
        body_format=Post.Format.HTML,
    )  # fmt: skip

    html = _search(client, "kayak")

    assert active_content(html) == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<mark>kayak</mark> &lt;script&gt;alert(2)&lt;/script&gt;" in html


@pytest.mark.django_db(transaction=False)
def test_no_payload_gets_through_the_highlighter():
    """Every XSS payload of the corpus, searched for by its own words, stays text."""
    failures = []
    for payload in _all_payloads():
        terms = parse_query(payload) or parse_query("script")
        for words in (None, 30):
            found = active_content(str(highlight(payload, terms, words=words)), fragment=True)
            if found:
                failures.append((payload, found))
    assert failures == []
