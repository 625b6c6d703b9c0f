"""The project's URLconf: the one place config/ imports the apps (README, "Layout")."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.urls import include, path, re_path, reverse

from blog.urls import root_urlpatterns

admin.site.site_header = "cloudblog"
admin.site.site_title = "cloudblog admin"
admin.site.index_title = "Site administration"

# Admin pages of models that moved out of blog/ into their own apps: bookmarks and links
# in old notes keep working (/admin/blog/mediaitem/3/change/ -> /admin/media_library/...).
_MOVED_ADMIN_MODELS = {"mediaitem": "media_library", "taskrun": "worker"}


def _moved_admin_page(request, model: str, rest: str):
    query = request.META.get("QUERY_STRING", "")
    target = f"{reverse('admin:index')}{_MOVED_ADMIN_MODELS[model]}/{model}/{rest}"
    return HttpResponsePermanentRedirect(f"{target}?{query}" if query else target)


urlpatterns = [
    # First: /healthz and /readyz (webtier/urls.py), then the Beanstalk daemon's /worker/.
    path("", include("webtier.urls")),
    path("", include("worker.urls")),
    re_path(
        rf"^admin/blog/(?P<model>{'|'.join(_MOVED_ADMIN_MODELS)})/(?P<rest>.*)$",
        _moved_admin_page,
    ),
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
