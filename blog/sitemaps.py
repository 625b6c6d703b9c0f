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
    model = Category

    def items(self):
        # Only archives with something in them: an empty archive is a soft 404.
        public = Post.objects.published().filter(**{f"{self.related}": OuterRef("pk")})
        return self.model.objects.filter(Exists(public)).only("id", "slug").order_by("pk")

    related = "categories"


class TagSitemap(CategorySitemap):
    model = Tag
    related = "tags"


SITEMAPS = {
    "home": HomeSitemap,
    "posts": PostSitemap,
    "pages": PageSitemap,
    "categories": CategorySitemap,
    "tags": TagSitemap,
}
