"""WSGI entry point: `gunicorn config.wsgi` (see config/gunicorn.conf.py).

Refuses to start when static files were never collected for a production storage:
Django would otherwise answer every page that names a static file with a 500
("Missing staticfiles manifest entry"), one request at a time, behind a load balancer
whose health check (/healthz, no template) stays green.
"""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()


def _check_static_manifest() -> None:
    from django.conf import settings
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

    if isinstance(staticfiles_storage, ManifestFilesMixin) and not staticfiles_storage.exists(
        staticfiles_storage.manifest_name
    ):
        raise ImproperlyConfigured(
            f"no static files manifest in STATIC_ROOT ({settings.STATIC_ROOT}): run "
            "`manage.py collectstatic --noinput` before starting the server (with "
            "DJANGO_DEBUG=false every page needs it)"
        )


_check_static_manifest()


def _prepare_readiness() -> None:
    # gunicorn loads this module in each worker after the fork (no preload_app), so the
    # clients are built per process, before it accepts its first request: a fresh
    # instance's first /readyz then spends its budget on the dependencies. With
    # preload_app they would be built before the fork and shared: keep it off.
    from webtier import health

    health.prepare()


_prepare_readiness()
