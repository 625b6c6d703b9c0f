"""The site's URLs plus uploaded media served from MEDIA_ROOT, for the desk's browser tests.

Serving /media/ in the embedded site is issue 12's media half (another branch); until it
lands, the live test server needs this stand-in so that images load in the browser.
"""

from django.conf import settings
from django.http import Http404
from django.urls import re_path
from django.views.static import serve

from config.urls import handler404, handler500
from config.urls import urlpatterns as site_urlpatterns


def _media(request, path):
    if path.startswith("private/"):
        raise Http404
    # Read per request: every test has its own MEDIA_ROOT.
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [re_path(r"^media/(?P<path>.+)$", _media), *site_urlpatterns]

__all__ = ["handler404", "handler500", "urlpatterns"]
