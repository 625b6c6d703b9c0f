from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.db.models import Exists, OuterRef
from django.urls import reverse

from blog.models import Category, Post, Tag


class HomeSitemap(Sitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self):
        return ["blog:home"]

    def location(self, item):
        return reverse(item)


class PostSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.8
    kind = Post.Kind.POST

    def items(self):
        return (
            Post.objects.published()
            .filter(kind=self.kind)
            .only("id", "slug", "kind", "path", "published_at", "created_at", "updated_at")
            .order_by("-published_at")
        )

    def lastmod(self, item):
        return item.updated_at


class PageSitemap(PostSitemap):
    kind = Post.Kind.PAGE
    priority = 0.6


class CategorySitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.4

    def items(self):
        # Only archives with something in them (an empty archive is a soft 404); a
        # parent category's archive shows its sub-categories' posts too.
        public = Post.objects.published().values("pk")
        filed = Post.categories.through.objects.filter(post_id__in=public)
        with_posts = set(filed.values_list("category_id", flat=True).distinct())
        categories = list(Category.objects.only("id", "slug", "parent_id").order_by("pk"))
        parent_of = {c.pk: c.parent_id for c in categories}
        listed = set()
        for pk in with_posts:
            while pk is not None and pk not in listed:
                listed.add(pk)
                pk = parent_of.get(pk)
        return [c for c in categories if c.pk in listed]


class TagSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.4

    def items(self):
        public = Post.objects.published().filter(tags=OuterRef("pk"))
        return Tag.objects.filter(Exists(public)).only("id", "slug").order_by("pk")


SITEMAPS = {
    "home": HomeSitemap,
    "posts": PostSitemap,
    "pages": PageSitemap,
    "categories": CategorySitemap,
    "tags": TagSitemap,
}
