from django.apps import AppConfig


class MediaLibraryConfig(AppConfig):
    """Uploaded images: the library, the upload service, renditions, `media:N` markup."""

    name = "media_library"
    verbose_name = "Media library"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from urllib.parse import urlsplit

        from django.conf import settings

        from webtier import hooks
        from worker import registry

        # Files, not pages: the page cache has nothing to keep (media_library/views.py).
        media_path = urlsplit(settings.MEDIA_URL).path
        if media_path.startswith("/") and not urlsplit(settings.MEDIA_URL).netloc:
            hooks.register_uncached_paths(media_path)

        registry.register_periodic(
            "retry-renditions", "media_library.tasks.retry_failed_renditions"
        )
        for name in ("make_media_renditions", "retry_failed_renditions"):
            registry.register_moved(f"blog.media_tasks.{name}", f"media_library.tasks.{name}")
