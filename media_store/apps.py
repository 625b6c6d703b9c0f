from __future__ import annotations

from django.apps import AppConfig


class MediaStoreConfig(AppConfig):
    """No models: the app exists so that the media store's system checks register."""

    name = "media_store"
    verbose_name = "Media store"

    def ready(self) -> None:
        from media_store import checks  # noqa: F401  (registers the checks)
