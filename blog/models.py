"""The content model, with WordPress semantics so a WXR export maps 1:1.

Posts and pages share one table, as in WordPress's wp_posts: `kind` tells them
apart, and `Page` is a proxy so the admin and the URLs can treat them apart.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from blog.excerpts import html_excerpt

# The site's settings are a model of this app, kept in a module of their own.
from blog.site_settings import SiteSettings, default_comment_status  # noqa: F401

EXCERPT_WORDS = 55  # WordPress's excerpt_length
# Tags on at least this many posts are listed by walking posts newest first.
WALK_FROM = 1_000


class Category(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, allow_unicode=True)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("blog:category", kwargs={"slug": self.slug})

    def subtree_ids(self) -> set[int]:
        """This category and every one below it, as WordPress's archives count them."""
        children: dict[int | None, list[int]] = {}
        for pk, parent_id in Category.objects.values_list("pk", "parent_id"):
            children.setdefault(parent_id, []).append(pk)
        found, frontier = {self.pk}, [self.pk]
        while frontier:
            below = [c for pk in frontier for c in children.get(pk, []) if c not in found]
            found.update(below)
            frontier = below
        return found


class Tag(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, allow_unicode=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("blog:tag", kwargs={"slug": self.slug})


class PostQuerySet(models.QuerySet):
    def posts(self) -> PostQuerySet:
        return self.filter(kind=Post.Kind.POST)

    def pages(self) -> PostQuerySet:
        return self.filter(kind=Post.Kind.PAGE)

    @staticmethod
    def _public(now=None) -> Q:
        """Published, or scheduled whose time has come.

        Scheduling needs no cron: a scheduled post is stored with status `future`
        and this condition lets it through once `published_at` has passed.
        """
        return Q(
            status__in=[Post.Status.PUBLISHED, Post.Status.FUTURE],
            published_at__lte=now or timezone.now(),
        )

    def published(self, now=None) -> PostQuerySet:
        """Publicly visible posts and pages."""
        return self.filter(self._public(now))

    def readable_by(self, user, now=None) -> PostQuerySet:
        """What a visitor may open by URL: public posts plus private ones they may read."""
        visible = self._public(now)
        if user.is_authenticated:
            private = Q(status=Post.Status.PRIVATE)
            if not user.has_perm("blog.read_private_posts"):
                private &= Q(author=user)
            visible |= private
        return self.filter(visible)

    def _filed(self, through) -> PostQuerySet:
        # A correlated scalar subquery, probed per post through the (post_id, ...) unique
        # index while posts are read newest first: MariaDB turns IN and EXISTS into a
        # semi-join that reads the whole link table first (109,000 rows per page at
        # 100,000 posts, measured); a join would repeat posts filed twice.
        linked = through.filter(post_id=OuterRef("pk")).values("pk")[:1]
        return self.alias(_filed=Subquery(linked)).filter(_filed__isnull=False)

    def in_categories(self, category_ids) -> PostQuerySet:
        return self._filed(Post.categories.through.objects.filter(category_id__in=category_ids))

    def with_tag(self, tag) -> PostQuerySet:
        """Posts tagged `tag`: read newest first for a big tag, from the tag for a small one.

        Walking posts newest first finds a page of a tag on one post in twenty at once,
        but reads the whole table for a tag on five posts; starting from the tag's rows
        and sorting them is the reverse. The bounded count reads at most WALK_FROM rows.
        """
        through = Post.tags.through.objects.filter(tag_id=tag.pk)
        if through[:WALK_FROM].count() < WALK_FROM:
            return self.filter(tags=tag)
        return self._filed(through)

    def for_listing(self) -> PostQuerySet:
        """Everything a list page shows, in a constant number of queries.

        Lists show the rendered HTML, never the source, so `body` stays in the database.
        """
        return (
            self.select_related("author", "featured_image")
            .prefetch_related("categories", "tags")
            .defer("body")
        )


class Post(models.Model):
    class Kind(models.TextChoices):
        POST = "post", "Post"
        PAGE = "page", "Page"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING = "pending", "Pending review"
        FUTURE = "future", "Scheduled"
        PUBLISHED = "publish", "Published"
        PRIVATE = "private", "Private"
        TRASH = "trash", "Trash"

    class Format(models.TextChoices):
        MARKDOWN = "markdown", "Markdown"
        HTML = "html", "HTML"

    class CommentStatus(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.POST)
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=200, unique=True, allow_unicode=True, blank=True)
    body = models.TextField(blank=True)
    body_format = models.CharField(max_length=10, choices=Format.choices, default=Format.MARKDOWN)
    body_html = models.TextField(blank=True, editable=False)
    excerpt = models.TextField(blank=True, help_text="Leave empty to use the first words.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="posts"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="A time in the future schedules the post."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    sticky = models.BooleanField(default=False, help_text="Keep at the top of the home page.")
    comment_status = models.CharField(
        max_length=10, choices=CommentStatus.choices, default=default_comment_status
    )
    password = models.CharField(
        max_length=100, blank=True, help_text="Visitors must enter it to read the post."
    )
    featured_image = models.ForeignKey(
        "media_library.MediaItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="featured_in",
    )
    # Kept by post_write: which library items the post shows (body or featured image).
    # The table was MediaItem.posts' when the media library lived in this app.
    media_items = models.ManyToManyField(
        "media_library.MediaItem",
        blank=True,
        related_name="posts",
        editable=False,
        db_table="blog_mediaitem_posts",
    )
    categories = models.ManyToManyField(Category, blank=True, related_name="posts")
    tags = models.ManyToManyField(Tag, blank=True, related_name="posts")
    # Pages only: hierarchy and menu position; `path` is the parent slugs joined, kept
    # by the services so that a page URL needs no walk up the tree.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    menu_order = models.IntegerField(default=0)
    path = models.CharField(max_length=500, blank=True, editable=False, db_index=True)
    # Denormalized like WordPress's comment_count, so lists never count rows.
    comment_count = models.PositiveIntegerField(default=0, editable=False)
    trashed_at = models.DateTimeField(null=True, blank=True, editable=False)
    status_before_trash = models.CharField(max_length=10, blank=True, editable=False)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        get_latest_by = "published_at"
        indexes = [
            models.Index(fields=["kind", "status", "published_at"], name="post_listing_idx"),
            models.Index(fields=["kind", "sticky", "published_at"], name="post_home_idx"),
            models.Index(fields=["author", "kind", "status"], name="post_author_idx"),
            models.Index(fields=["status", "trashed_at"], name="post_trash_idx"),
            # The content stamp of blog/listing.py: MAX(updated_at) in one index probe.
            models.Index(fields=["updated_at"], name="post_updated_idx"),
            # Newest first over every status: feeds, categories and big tags walk it.
            models.Index(fields=["kind", "published_at"], name="post_recent_idx"),
        ]
        permissions = [
            ("publish_post", "Can publish own posts"),
            ("edit_others_posts", "Can edit and publish posts of others"),
            ("edit_published_posts", "Can edit own posts after publishing"),
            ("read_private_posts", "Can read private posts of others"),
            ("unfiltered_html", "Can embed iframes and media in posts"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        if self.kind == self.Kind.PAGE:
            return reverse("blog:page", kwargs={"path": self.path or self.slug})
        when = timezone.localtime(self.published_at or self.created_at)
        return reverse(
            "blog:post-detail",
            kwargs={"year": when.year, "month": f"{when.month:02d}", "slug": self.slug},
        )

    @property
    def is_page(self) -> bool:
        return self.kind == self.Kind.PAGE

    @property
    def is_public(self) -> bool:
        return (
            self.status in (self.Status.PUBLISHED, self.Status.FUTURE)
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    @property
    def is_scheduled(self) -> bool:
        return self.status == self.Status.FUTURE and not self.is_public

    @property
    def display_status(self) -> str:
        """Scheduled posts read as published once their time has passed."""
        if self.status == self.Status.FUTURE and self.is_public:
            return self.Status.PUBLISHED.label
        return self.get_status_display()

    def get_excerpt(self) -> str:
        if self.excerpt:
            return self.excerpt
        return html_excerpt(self.body_html, words=EXCERPT_WORDS)

    def comments_open(self) -> bool:
        return self.comment_status == self.CommentStatus.OPEN and self.is_public


class PageManager(models.Manager.from_queryset(PostQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(kind=Post.Kind.PAGE)


class Page(Post):
    """Pages in the admin; same table as posts."""

    objects = PageManager()

    class Meta:
        proxy = True
        ordering = ["menu_order", "title"]


class SearchEntry(models.Model):
    """What the site search may find of a post: its title, and its text when it has no password.

    Kept by the post services (blog/services/search.py) for published and scheduled posts
    only; a draft, private, pending or trashed post has no entry, so its words cannot match
    whatever a query says. A scheduled post's entry waits for its `published_at`.
    MariaDB indexes `title` and `(title, text)` with FULLTEXT, SQLite with an FTS5 table
    (migration 0011).
    """

    post = models.OneToOneField(
        Post, primary_key=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    kind = models.CharField(max_length=10, choices=Post.Kind.choices)
    published_at = models.DateTimeField()
    title = models.CharField(max_length=300)
    # Plain text of the rendered body and the excerpt; empty for a password-protected post.
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["-published_at", "-post_id"]
        get_latest_by = "published_at"
        verbose_name_plural = "search entries"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return self.post.get_absolute_url()


class SearchPosting(models.Model):
    """One word of one post's search entry, with its impact (blog.searchtext.impacts).

    The primary key (term, impact, published_at, post) keeps each word's posts in the
    order results are shown (best, then newest), so the top posts for a word are the first
    rows of an index range, whatever share of the posts holds it (README, "Search"); the
    entry's kind and date are copied here so that range needs no other table. The (post,
    term) index answers "does this post hold that word" and finds a post's rows when its
    entry is written again. Written with the entries, by blog/services/search.py only.
    """

    pk = models.CompositePrimaryKey("term", "impact", "published_at", "post")
    term = models.CharField(max_length=84)
    impact = models.PositiveIntegerField()
    published_at = models.DateTimeField()
    post = models.ForeignKey(
        SearchEntry, on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Post.Kind.choices)

    class Meta:
        ordering = ["term", "-impact", "-published_at", "-post"]
        indexes = [models.Index(fields=["post", "term"], name="search_posting_post_term")]

    def __str__(self) -> str:
        return f"{self.term} in {self.post_id} ({self.impact})"

    def get_absolute_url(self) -> str:
        return self.post.get_absolute_url()


class SearchTerm(models.Model):
    """How many search entries hold a word: the result count, and which word of a query to
    walk first. The empty term counts the entries themselves."""

    term = models.CharField(max_length=84, primary_key=True)
    entries = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["term"]

    def __str__(self) -> str:
        return f"{self.term}: {self.entries}"

    def get_absolute_url(self) -> str:
        return reverse("blog:search") + "?" + urlencode({"q": self.term})


class Revision(models.Model):
    """A snapshot of a post's content, kept on every save of its content."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    body_format = models.CharField(max_length=10, choices=Post.Format.choices)
    excerpt = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"{self.title} ({timezone.localtime(self.created_at):%Y-%m-%d %H:%M})"

    def get_absolute_url(self) -> str:
        return reverse("admin:blog_revision_change", args=[self.pk])


class CommentQuerySet(models.QuerySet):
    def approved(self) -> CommentQuerySet:
        return self.filter(status=Comment.Status.APPROVED)


class Comment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        SPAM = "spam", "Spam"
        TRASH = "trash", "Trash"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    author_name = models.CharField(max_length=100)
    author_email = models.EmailField(max_length=254)
    author_url = models.URLField(max_length=300, blank=True)
    body = models.TextField()
    body_html = models.TextField(editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    trashed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        get_latest_by = "created_at"
        indexes = [
            models.Index(fields=["post", "status", "created_at"], name="comment_thread_idx"),
            models.Index(fields=["status", "created_at"], name="comment_queue_idx"),
            models.Index(fields=["author_email", "status"], name="comment_known_idx"),
        ]
        permissions = [("moderate_comments", "Can approve, spam and trash comments")]

    def __str__(self) -> str:
        return f"{self.author_name} on {self.post}"

    def get_absolute_url(self) -> str:
        return f"{self.post.get_absolute_url()}#comment-{self.pk}"


class Autosave(models.Model):
    """A writer's unsaved text of one post, kept by the editor about once a minute.

    WordPress's autosave: one row per post and writer, overwritten each time and never a
    revision; offered back when the post is opened again, dropped when the post is saved.
    """

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="autosaves")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    excerpt = models.TextField(blank=True)
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-saved_at"]
        get_latest_by = "saved_at"
        constraints = [
            models.UniqueConstraint(fields=["post", "author"], name="autosave_one_per_writer")
        ]

    def __str__(self) -> str:
        return f"Autosave of {self.post_id} by {self.author_id}"

    def get_absolute_url(self) -> str:
        return reverse(f"admin:blog_{self.post.kind}_change", args=[self.post_id])


class EditLock(models.Model):
    """Who has a post open in the editor (WordPress's post lock), renewed by a heartbeat."""

    post = models.OneToOneField(
        Post, on_delete=models.CASCADE, primary_key=True, related_name="edit_lock"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    heartbeat_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-heartbeat_at"]
        get_latest_by = "heartbeat_at"

    def __str__(self) -> str:
        return f"{self.post_id} open by {self.user_id}"

    def get_absolute_url(self) -> str:
        return reverse(f"admin:blog_{self.post.kind}_change", args=[self.post_id])
