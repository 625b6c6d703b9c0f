"""The upload limits from Django settings (MEDIA_MAX_*), for media_store.images."""

from __future__ import annotations

from django.conf import settings

from media_store.images import Limits


def configured_limits() -> Limits:
    defaults = Limits()
    return Limits(
        max_bytes=getattr(settings, "MEDIA_MAX_BYTES", defaults.max_bytes),
        max_pixels=getattr(settings, "MEDIA_MAX_PIXELS", defaults.max_pixels),
        max_frames=getattr(settings, "MEDIA_MAX_FRAMES", defaults.max_frames),
        max_seconds=float(getattr(settings, "MEDIA_MAX_SECONDS", defaults.max_seconds)),
        max_ratio=float(getattr(settings, "MEDIA_MAX_RATIO", defaults.max_ratio)),
        max_memory_mb=getattr(settings, "MEDIA_MAX_MEMORY_MB", defaults.max_memory_mb),
        max_cpu_seconds=float(getattr(settings, "MEDIA_MAX_CPU_SECONDS", defaults.max_cpu_seconds)),
    )
