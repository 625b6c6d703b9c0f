from django.apps import AppConfig


class MediaLibraryConfig(AppConfig):
    """Uploaded images: the library, the upload service, renditions, `media:N` markup."""

    name = "media_library"
    verbose_name = "Media library"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from worker import registry

        registry.register_periodic(
            "retry-renditions", "media_library.tasks.retry_failed_renditions"
        )
        for name in ("make_media_renditions", "retry_failed_renditions"):
            registry.register_moved(f"blog.media_tasks.{name}", f"media_library.tasks.{name}")
