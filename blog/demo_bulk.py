"""A big demo site in minutes: `seed_demo --posts N --bulk`, for benchmarks and load tests.

`blog/demo.py` makes every post through `post_write` (slug check, rendering, a revision):
about 11 posts a second, 16 minutes for 20,000. Here rows go in with `bulk_create`, in
batches of one transaction each, with bodies rendered once per template and reused, and
slugs made unique by their number instead of by asking the database. What a list page,
an archive, a feed or the sitemap reads is the same as what the services would write
(rendered HTML, denormalized comment counts); what is left out is history: no revisions.

Ratios are those of a long-running multi-author blog (the figures are ours, chosen to
make list pages realistic, not copied from a particular site): about 30 posts a day,
one author per 2,000 posts, a few dozen categories of very different sizes (the biggest
holds about a third of the posts), one tag per 50 posts chosen with a long tail, and
about two comments per post, most posts having none and a few having dozens.

`words="zipf"` (`seed_demo --words zipf`, the search bench) gives every post a text of
its own instead: titles of 3-9 words and bodies of 40-180 drawn from a vocabulary of
30,000 words with a Zipf-like distribution, so the commonest word is in about half the
posts, a hundred words in about a tenth, and most words in a handful. The site search's
entries and postings are written at the end, by the search rebuild.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from itertools import accumulate

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from blog import demo, roles
from blog.models import Category, Comment, Post, Tag
from blog.rendering import render_comment, render_post_body
from blog.services import search

BATCH = 2_000
POSTS_PER_DAY = 30
POSTS_PER_AUTHOR = 2_000
POSTS_PER_TAG = 50
POSTS_PER_CATEGORY = 2_000
# Per 1,000 posts: drafts, private posts, scheduled ones; the rest are published.
DRAFTS, PRIVATE, SCHEDULED = 20, 5, 2
STICKY = 3
_BODIES = 40  # distinct bodies rendered; posts reuse them


def _people(count: int) -> list:
    """The demo's people and enough more writers for `count` posts, made in bulk."""
    people = list(demo._people().values())
    User = get_user_model()
    wanted = max(count // POSTS_PER_AUTHOR - len(people), 0)
    names = [f"writer{n:03d}" for n in range(1, wanted + 1)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    new = [
        User(
            username=name,
            first_name="Writer",
            last_name=name[-3:],
            email=f"{name}@example.com",
            is_staff=True,
            password="!",  # noqa: S106 (unusable: bylines only, nobody signs in as one)
        )
        for name in names
        if name not in existing
    ]
    User.objects.bulk_create(new)
    writers = list(User.objects.filter(username__in=names))
    author_group = Group.objects.get(name=roles.AUTHOR)
    author_group.user_set.add(*writers)
    return people + writers


def _categories(count: int) -> list[Category]:
    found = list(demo._categories().values())
    extra = max(count // POSTS_PER_CATEGORY - len(found), 0)
    for n in range(1, extra + 1):
        found.append(
            Category.objects.get_or_create(slug=f"topic-{n:03d}", defaults={"name": f"Topic {n}"})[
                0
            ]
        )
    return found


def _tags(count: int) -> list[Tag]:
    found = list(demo._tags().values())
    extra = max(count // POSTS_PER_TAG - len(found), 0)
    names = [f"label-{n:04d}" for n in range(1, extra + 1)]
    existing = set(Tag.objects.filter(slug__in=names).values_list("slug", flat=True))
    Tag.objects.bulk_create(
        Tag(slug=slug, name=f"Label {slug[6:]}") for slug in names if slug not in existing
    )
    return found + list(Tag.objects.filter(slug__in=names).order_by("slug"))


# Real words first, commonest first (English's function words left out: the search does
# not index them); then made-up ones for the long tail of rare words.
_REAL_TEXT = """
data server cache query database page post user time code site request test build python
django redis deploy image team night light water garden river system file network memory
release design error report search index table field model view template storage queue
worker thread process backup restore cluster replica latency traffic session cookie login
admin editor author draft comment feed theme plugin widget menu sidebar footer header media
photo camera travel mountain coffee morning weekend kitchen recipe bread flour butter sugar
kayak harbour island forest winter summer autumn spring letter story chapter history museum
market street bridge station window tomato basil lemon orange paper pencil guitar piano
violin concert festival stadium football tennis cycling running marathon sunrise
"""
_REAL_WORDS = _REAL_TEXT.split()
_SYLLABLE_TEXT = "ka lo mi ren tu sa vor qui del an ost pe bra zu nik tor el fa gin ho"
_SYLLABLES = _SYLLABLE_TEXT.split()
VOCABULARY_WORDS = 30_000


def zipf_vocabulary(seed: int = demo.SEED) -> tuple[list[str], list[float]]:
    """The words of `words="zipf"` posts, commonest first, and their cumulative weights.

    The weight of rank r is 1/(r + 30)^1.05: with bodies of 40-180 words the first word is
    in about 48 % of the posts, rank 150 in about 10 %, rank 20,000 in under 0.1 %.
    """
    rng = random.Random(seed)
    words, seen = list(_REAL_WORDS), set(_REAL_WORDS)
    while len(words) < VOCABULARY_WORDS:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words, list(accumulate(1 / (rank + 30) ** 1.05 for rank in range(len(words))))


class _ZipfText:
    """A title and a body of their own for each post, from zipf_vocabulary()."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words, self.weights = zipf_vocabulary()

    def _pick(self, count: int) -> str:
        return " ".join(self.rng.choices(self.words, cum_weights=self.weights, k=count))

    def post(self) -> tuple[str, str, str]:
        """(title, body, body_html): Markdown paragraphs and the HTML they render to."""
        title = self._pick(self.rng.randint(3, 9)).capitalize()
        paragraphs = [self._pick(self.rng.randint(20, 60)) for _ in range(self.rng.randint(2, 3))]
        return title, "\n\n".join(paragraphs), "".join(f"<p>{p}</p>" for p in paragraphs)


def _zipf_weights(n: int, skew: float = 1.0) -> list[float]:
    """Rank-size weights: the first item is picked most, then a long tail."""
    return [1 / (rank**skew) for rank in range(1, n + 1)]


def _bodies(rng: random.Random) -> list[tuple[str, str, str]]:
    """(body, body_html, excerpt) for a few dozen posts, rendered once and reused."""
    bodies = []
    for i in range(_BODIES):
        _, _, _, opening = demo.TOPICS[i % len(demo.TOPICS)]
        source = demo._post_body(rng, opening, i)
        html = render_post_body(source, Post.Format.MARKDOWN, allow_embeds=False)
        bodies.append((source, html, opening.replace("`", "")))
    return bodies


class _Comments:
    """Comments for a batch of posts: most posts none, a few dozens (a long tail)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rendered = [(text, render_comment(text)) for text in demo.REMARKS + demo.REPLIES]
        self.made = self.pending = 0

    def count_for(self) -> int:
        roll = self.rng.random()
        if roll < 0.6:
            return 0
        if roll < 0.97:
            return self.rng.randint(1, 6)
        return self.rng.randint(10, 40)

    def rows(self, post: Post, count: int) -> list[Comment]:
        rows = []
        when = post.published_at
        for _ in range(count):
            when += timedelta(minutes=self.rng.randint(5, 600))
            name, email = self.rng.choice(demo.READERS)
            text, html = self.rng.choice(self.rendered)
            rows.append(
                Comment(
                    post_id=post.pk,
                    author_name=name,
                    author_email=email,
                    body=text,
                    body_html=html,
                    status=Comment.Status.APPROVED,
                    created_at=when,
                )
            )
        return rows


def _status(n: int, now, when) -> tuple[str, object]:
    """Which status post number `n` gets (spread evenly), and its published_at."""
    slot = n % 1000
    if slot < DRAFTS:
        return Post.Status.DRAFT, None
    if slot < DRAFTS + PRIVATE:
        return Post.Status.PRIVATE, when
    if slot < DRAFTS + PRIVATE + SCHEDULED:
        return Post.Status.FUTURE, now + timedelta(days=1 + n % 30)
    return Post.Status.PUBLISHED, when


def seed_bulk(
    *,
    posts: int,
    now=None,
    words: str = "demo",
    progress: Callable[[str], None] | None = None,
) -> demo.Summary:
    """Create `posts` posts (mostly published) with their people, taxonomy and comments.

    `words`: "demo" reuses a few dozen rendered demo bodies; "zipf" writes each post a text
    of its own (_ZipfText) for the search bench.
    """
    if words not in ("demo", "zipf"):
        raise ValueError(f"words must be 'demo' or 'zipf', not {words!r}")
    rng = random.Random(demo.SEED)
    now = now or timezone.now()
    say = progress or (lambda message: None)
    started = time.monotonic()
    with transaction.atomic():
        people = _people(posts)
        categories = _categories(posts)
        tags = _tags(posts)
        demo_pages(now)
    summary = demo.Summary(
        users=len(people), categories=len(categories), tags=len(tags), pages=len(demo.PAGES)
    )
    bodies = _bodies(rng)
    zipf = _ZipfText(rng) if words == "zipf" else None
    comments = _Comments(rng)
    category_weights = _zipf_weights(len(categories), 1.1)
    tag_weights = _zipf_weights(len(tags), 0.9)
    span = timedelta(days=max(demo.HISTORY_DAYS, posts / POSTS_PER_DAY))
    sticky_at = {posts - 1 - k * (posts // (STICKY + 1)) for k in range(STICKY)}
    for first in range(0, posts, BATCH):
        numbers = range(first, min(first + BATCH, posts))
        rows = []
        for n in numbers:
            # Oldest first, the newest two days ago, as the small demo does.
            when = now - timedelta(days=2) - span * (posts - 1 - n) / max(posts - 1, 1)
            when -= timedelta(minutes=rng.randint(0, 600))
            title, _, _, _ = demo.TOPICS[n % len(demo.TOPICS)]
            title = f"{title} (part {n // len(demo.TOPICS) + 1})"
            body, html, excerpt = bodies[n % len(bodies)]
            if zipf:
                title, body, html = zipf.post()
                excerpt = ""
            status, published_at = _status(n, now, when)
            public = status == Post.Status.PUBLISHED
            rows.append(
                Post(
                    title=title,
                    # Numbered, so unique without asking the database.
                    slug=f"{slugify(title)[:180]}-{n + 1}",
                    body=body,
                    body_html=html,
                    excerpt=excerpt,
                    author=people[n % len(people)],
                    status=status,
                    published_at=published_at,
                    created_at=when - timedelta(hours=rng.randint(1, 48)),
                    sticky=n in sticky_at and public,
                    # Decided before the insert, so no second write of the posts.
                    comment_count=comments.count_for() if public else 0,
                )
            )
        with transaction.atomic():
            Post.objects.bulk_create(rows)
            _file(rows, rng, categories, category_weights, tags, tag_weights)
            _comment(rows, comments)
        for post in rows:
            if post.status == Post.Status.PUBLISHED:
                summary.published += 1
                summary.sticky += post.sticky
            else:
                setattr(summary, _COUNTER[post.status], getattr(summary, _COUNTER[post.status]) + 1)
        done = numbers.stop
        rate = done / max(time.monotonic() - started, 1e-6)
        say(f"seeded {done:,}/{posts:,} posts ({rate:,.0f} posts/s)")
    summary.comments, summary.pending = comments.made, comments.pending
    # The site search's entries and postings, from the posts as the services would write them.
    search.search_entries_rebuild(progress=say)
    return summary


_COUNTER = {
    Post.Status.DRAFT: "drafts",
    Post.Status.PRIVATE: "private",
    Post.Status.FUTURE: "scheduled",
}


def demo_pages(now) -> None:
    """The small demo's pages (About, Contact, The team), written as the services would."""
    editor = get_user_model().objects.get(username="eleanor")
    made: dict[str, Post] = {}
    for slug, title, parent, order, body in demo.PAGES:
        page = Post(
            kind=Post.Kind.PAGE,
            title=title,
            slug=slug,
            body=body,
            body_html=render_post_body(body, Post.Format.MARKDOWN, allow_embeds=False),
            author=editor,
            parent=made.get(parent),
            path=f"{made[parent].path}/{slug}" if parent else slug,
            menu_order=order,
            status=Post.Status.PUBLISHED,
            published_at=now - timedelta(days=demo.HISTORY_DAYS),
        )
        page.save()
        made[slug] = page


def _file(rows, rng, categories, category_weights, tags, tag_weights) -> None:
    """One category per post (one in ten has two), zero to five tags, by rank weights."""
    through_c, through_t = Post.categories.through, Post.tags.through
    filed, tagged = [], []
    for post in rows:
        chosen = set(rng.choices(categories, category_weights, k=2 if rng.random() < 0.1 else 1))
        filed.extend(through_c(post_id=post.pk, category_id=c.pk) for c in chosen)
        picked = set(rng.choices(tags, tag_weights, k=rng.choice((0, 1, 2, 2, 3, 3, 4, 5))))
        tagged.extend(through_t(post_id=post.pk, tag_id=t.pk) for t in picked)
    through_c.objects.bulk_create(filed, batch_size=BATCH)
    through_t.objects.bulk_create(tagged, batch_size=BATCH)


def _comment(rows, comments: _Comments) -> None:
    """The approved comments each post's stored count says, plus one pending comment per
    batch for the moderation queue (left out of the count, as the services do)."""
    made = [
        c for post in rows if post.comment_count for c in comments.rows(post, post.comment_count)
    ]
    busy = next((post for post in rows if post.comment_count), None)
    if busy is not None:
        held = comments.rows(busy, 1)[0]
        held.status = Comment.Status.PENDING
        made.append(held)
        comments.pending += 1
    Comment.objects.bulk_create(made, batch_size=BATCH)
    comments.made += len(made)
