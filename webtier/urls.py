"""The web tier's own URLs, first in the project's URLconf and without a trailing slash:
SECURE_REDIRECT_EXEMPT matches these paths, and the ALB checks /healthz over plain HTTP."""

from django.urls import path

from webtier import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
