"""`seed_demo --mode bulk`: a big demo site in batched inserts, at a big blog's ratios."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count

from blog.models import Category, Comment, Post, Tag

pytestmark = pytest.mark.django_db


def test_bulk_seeding_makes_a_realistic_site_and_reports_its_progress(client):
    out = io.StringIO()
    call_command("seed_demo", posts=4000, mode="bulk", stdout=out)

    text = out.getvalue()
    assert "seeded 2,000/4,000 posts" in text and "seeded 4,000/4,000 posts" in text
    posts = Post.objects.posts()
    assert posts.count() == 4000
    published = posts.published()
    # Mostly published; some drafts, private and scheduled posts, as on a real blog.
    assert 3800 < published.count() < 4000
    assert posts.filter(status=Post.Status.DRAFT).count() == 80
    assert posts.filter(status=Post.Status.FUTURE).exists()
    # Every post filed, most tagged; categories of very different sizes.
    assert not posts.filter(categories=None).exists()
    sizes = sorted(Category.objects.annotate(n=Count("posts")).values_list("n", flat=True))
    assert sizes[-1] > 5 * sizes[0] > 0
    assert Tag.objects.count() == 80
    tagged = posts.exclude(tags=None).count()
    assert 0.7 < tagged / 4000 < 0.95
    # About two comments a post, and each stored count matches its approved comments.
    comments = Comment.objects.count()
    assert 1.2 < comments / published.count() < 3.5
    sample = published.exclude(comment_count=0).first()
    assert sample.comments.approved().count() == sample.comment_count
    assert Comment.objects.filter(status=Comment.Status.PENDING).count() == 2
    assert get_user_model().objects.filter(posts__isnull=False).distinct().count() >= 3
    # Unique slugs without asking the database, and pages render.
    assert posts.values("slug").distinct().count() == 4000
    assert client.get(published.first().get_absolute_url()).status_code == 200
    assert client.get("/?page=300").status_code == 200


def test_seeding_again_does_nothing(client):
    call_command("seed_demo", posts=1500, stdout=io.StringIO())
    out = io.StringIO()

    call_command("seed_demo", posts=1500, stdout=out)

    assert "already present (1500 posts)" in out.getvalue()
    assert Post.objects.posts().count() == 1500


def test_zipf_words_give_each_post_its_own_text_and_the_search_finds_it(client):
    out = io.StringIO()
    call_command("seed_demo", posts=1200, mode="bulk", words="zipf", stdout=out)

    text = out.getvalue()
    assert re.search(r"indexed 1,2\d\d/1,2\d\d posts", text), text[-500:]
    assert "counting the posts of each word" in text
    published = Post.objects.posts().filter(status=Post.Status.PUBLISHED)
    assert published.values("body").distinct().count() == published.count()
    # The commonest word of the vocabulary is in a large share of the posts.
    common = published.filter(body__icontains="data").count() / published.count()
    assert 0.3 < common < 0.7
    page = client.get("/search/", {"q": "data"}).content.decode()
    assert "posts found" in page and "Page 1 of" in page and "<mark>data</mark>" in page.lower()


def test_zipf_words_need_bulk_mode():
    with pytest.raises(CommandError, match="--words zipf needs --mode bulk"):
        call_command("seed_demo", posts=10, mode="services", words="zipf")
