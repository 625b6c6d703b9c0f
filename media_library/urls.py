"""`/media/<name>`: public media files of a POSIX store (media_library/views.py).

Included by config/urls.py at MEDIA_URL when that is a path on this site; with an
absolute MEDIA_URL (a CDN, S3) nothing here is reachable, and nothing needs to be.
"""

from django.urls import path

from media_library.views import media_file

app_name = "media_library"
urlpatterns = [path("<path:name>", media_file, name="file")]
