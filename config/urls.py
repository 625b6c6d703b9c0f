"""The project's URLconf: the one place config/ imports the apps (README, "Layout")."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from blog.urls import root_urlpatterns

admin.site.site_header = "cloudblog"
admin.site.site_title = "cloudblog admin"
admin.site.index_title = "Site administration"

urlpatterns = [
    # First: /healthz and /readyz (webtier/urls.py), then the Beanstalk daemon's /worker/.
    path("", include("webtier.urls")),
    path("", include("worker.urls")),
    path("admin/", admin.site.urls),
    # The WordPress REST API; ?rest_route= reaches it through its middleware.
    path("wp-json/", include("wordpress.api.urls")),
    # Uploaded media when nothing in front serves it (README "Media library": who serves
    # /media/ in each mode); an absolute MEDIA_URL (a CDN) is not ours to route.
    *(
        [path(settings.MEDIA_URL.lstrip("/"), include("media_library.urls"))]
        if not urlsplit(settings.MEDIA_URL).netloc
        else []
    ),
    *root_urlpatterns,
    path("", include("blog.urls")),
]

handler404 = "blog.views.page_not_found"
handler500 = "blog.views.server_error"
