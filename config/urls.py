from django.contrib import admin
from django.urls import include, path

from blog import worker
from blog.urls import root_urlpatterns
from config import health

admin.site.site_header = "cloudblog"
admin.site.site_title = "cloudblog admin"
admin.site.index_title = "Site administration"

urlpatterns = [
    # First, and without a trailing slash: SECURE_REDIRECT_EXEMPT matches these paths.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # The Elastic Beanstalk worker daemon posts each queued job here (blog/worker.py).
    path("worker/", worker.worker_endpoint, name="worker"),
    path("admin/", admin.site.urls),
    *root_urlpatterns,
    path("", include("blog.urls")),
]

handler404 = "blog.views.page_not_found"
handler500 = "blog.views.server_error"
