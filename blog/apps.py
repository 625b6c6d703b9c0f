from django.apps import AppConfig

# Signed in or editing: read from the writer only, never page-cached, not for crawlers.
PRIVATE_PATHS = ("/admin/", "/accounts/", "/preview/")
# Public, but every query would be a page-cache key of its own.
UNCACHED_PATHS = ("/search/",)


def _next_scheduled_publish(now):
    """When the next scheduled post or page goes live by itself (webtier/hooks.py)."""
    from blog.models import Post

    return (
        Post.objects.filter(
            kind__in=Post.Kind.values, status=Post.Status.FUTURE, published_at__gt=now
        )
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )


class BlogConfig(AppConfig):
    """Content: posts, pages, categories, tags, comments, revisions, roles, the theme."""

    name = "blog"
    verbose_name = "Blog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from blog.holes import HOLES
        from webtier import hooks
        from worker import registry

        hooks.register_private_paths(*PRIVATE_PATHS)
        for name, fill in HOLES.items():
            hooks.register_hole(name, fill)
        hooks.register_uncached_paths(*UNCACHED_PATHS)
        hooks.register_next_change(_next_scheduled_publish)
        registry.register_periodic("empty-trash", "blog.periodic.empty_trash")
        registry.register_periodic("refresh-sitemap", "blog.periodic.refresh_sitemap")
        for name in ("empty_trash", "refresh_sitemap"):
            registry.register_moved(f"blog.tasks.{name}", f"blog.periodic.{name}")
